"""The plan: diff desired against live (diff.py, compare.py), delete cascades, console steps, views, the saved plan file. Pure."""
