"""The command line: parse arguments, call the flow, choose output and exit code (app.py)."""
