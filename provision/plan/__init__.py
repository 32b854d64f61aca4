"""The plan: diff desired against live, delete cascades, console steps, the saved plan. Pure."""
