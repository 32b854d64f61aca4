"""Command-line switches the plan's own messages name (here, so the CLI can declare them cheaply)."""

# Rotating a delivered key breaks whoever uses it, and a fresh CI runner has an empty sink: opt-in only.
ROTATE_FLAG = "--rotate-missing-secrets"
