"""lava-lavasched: the lavasched job type, which builds the dispatcher host's crontab.

Each scheduled job whose ``dispatcher`` matches becomes one crontab line per
active schedule entry, running ``lava dispatch`` by absolute path; the lines
live between lava's markers and nothing else in the crontab is touched.
"""
