"""The state dir: state.json (what the tool created, confirmed, last applied) and the secrets sink. Written only under the lock."""
