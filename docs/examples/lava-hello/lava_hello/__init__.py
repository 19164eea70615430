"""lava-hello: an example lava plugin providing the ``hello`` job type."""
