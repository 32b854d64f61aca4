"""Errors a user can act on, and the exit codes of every command.

Exit codes of every command (also in ``provision --help``):

  ====  ==============================================================================================
  0     success; for ``plan --detailed-exitcode``: the account matches the manifest
  1     error: a usage error (missing or unknown option, bad value: never 2), an invalid manifest, a
        cloud error, a failed apply/verify/revoke, or an apply that left a deletion refused
        (``state: absent`` without ``--allow-destroy``, or ``protect: true``)
  2     ``plan --detailed-exitcode`` only: the plan has changes, or deletions it refuses (the account
        still holds what the manifest says must be gone)
  130   interrupted (Ctrl-C); apply first reports every change that finished
  ====  ==============================================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


class ProvisionError(Exception):
    """An expected failure: the CLI prints ``str(self)`` (no traceback) and exits with ``exit_code``."""

    exit_code = EXIT_ERROR


class ManifestError(ProvisionError):
    """A manifest that cannot be rendered, parsed or validated: names file, line and field."""

    def __init__(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.file, self.line, self.field, self.message = file, line, field, message
        where = f"{file}:{line}" if line else file
        what = f" [{field}]" if field else ""
        super().__init__(f"{where}:{what} {message}")


class CloudCallError(ProvisionError):
    """A cloud API call that failed for good: names resource, action, cloud code and what to do."""

    def __init__(self, resource: str, action: str, code: str, status: int | None, message: str,
                 hint: str = "", request_id: str = "") -> None:
        self.resource, self.action, self.code, self.status = resource, action, code, status
        self.cloud_message, self.hint, self.request_id = message, hint, request_id
        text = f"{resource}: {action} failed with {code}"
        if status:
            text += f" (HTTP {status})"
        if message:
            text += f": {message}"
        if hint:
            text += f"\n  what to do: {hint}"
        if request_id:
            text += f"\n  request id: {request_id}"
        super().__init__(text)


class StalePlanError(ProvisionError):
    """A saved plan whose live state no longer matches the account."""


class RefusedError(ProvisionError):
    """A change refused by a guard (protect, --allow-destroy, lint)."""
