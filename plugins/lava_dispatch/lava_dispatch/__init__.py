"""lava-dispatch: run other jobs asynchronously, each as a run of its own on its own fleet.

The ``dispatch`` job type sends one dispatch message per job in its payload; the
``dispatch`` post-job action sends one from ``on_success``, ``on_fail`` or
``on_retry``. Either way the children get new run ids and the sender's whole
globals, with ``globals.lava.parent_*`` naming the sender.
"""
