"""The engine: a command's flow (flow.py), live reads (live.py) and apply (apply.py)."""
