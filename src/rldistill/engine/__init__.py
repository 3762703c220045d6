"""The engine: the one loop (loop.py), its typed buffer (buffer.py) and its incremental
checkpoints (checkpoint.py)."""
