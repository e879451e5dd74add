"""ptree's kernel model: DragonFly BSD's process lifecycle, one event at a time.

Pure Python: nothing here imports Flask, sockets or time, and the same scenario with the
same choices always yields the same events.
"""
