"""The command line: parse arguments, call the flow, choose the output and the exit code. app.py holds the commands."""
