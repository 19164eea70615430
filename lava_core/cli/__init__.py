"""The ``lava`` command line."""
