"""lava-dag: job types that run other stored jobs in-process (chain, dag, foreach)."""
