"""The engine: one command's flow (flow.py), live reads (live.py), apply (apply.py), the state file and the secrets sink."""
