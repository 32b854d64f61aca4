"""Bounds on the work a manifest may ask for: pull-request plans render and parse untrusted manifests.

A manifest past a bound is refused at once (exit 1, file:line, the offending value cut short), before any
cloud call. The bounds are far above what a real manifest needs (a 5,000-user manifest is under 1 MB and
renders in a fraction of the time bound); docs/manifest.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The bounds applied while rendering and parsing a manifest."""

    max_bytes: int = 2 * 1024 * 1024  # each template file, and the rendered manifest
    max_scalar: int = 64 * 1024  # characters in one YAML value (a policy document written as JSON fits)
    max_depth: int = 32  # nested mappings and sequences (the manifest itself needs 8)
    max_values: int = 200_000  # YAML values after aliases and merge keys are expanded
    max_loop_iterations: int = 200_000  # Jinja {% for %} iterations, all loops together
    max_render_seconds: float = 0.5  # CPU time spent rendering Jinja (a busy machine does not trip it)
    max_includes: int = 100  # templates loaded ({% include %}, {% import %}), the manifest included
    max_power_bits: int = 4096  # size of an integer built with ** in a template


LIMITS = Limits()


def cut(value: str, width: int = 40) -> str:
    """``value`` quoted and cut to about ``width`` characters, with its full length when cut."""
    if len(value) <= width:
        return repr(value)
    return f"{value[:width]!r}... ({len(value):,} characters)"
