"""The state dir: state.json (what the tool created, confirmed, applied) and the secrets sink."""
