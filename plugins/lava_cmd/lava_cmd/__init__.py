"""lava-cmd: job types that run processes on the worker (cmd)."""
