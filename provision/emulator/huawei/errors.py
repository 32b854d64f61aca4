"""Each Huawei service's error codes for the four common refusals, written once."""

from __future__ import annotations

from dataclasses import dataclass

from provision.emulator.wire import CloudError


@dataclass(frozen=True)
class ServiceErrors:
    """The codes (and statuses) a service answers for bad input, a missing resource, a duplicate, a limit."""

    invalid_code: str
    not_found_code: str
    conflict_code: str
    quota_code: str
    quota_status: int = 409

    def invalid(self, message: str) -> CloudError:
        return CloudError(self.invalid_code, message, 400)

    def not_found(self, kind: str, name: str) -> CloudError:
        return CloudError(self.not_found_code, f"The {kind} {name} does not exist.", 404)

    def conflict(self, message: str) -> CloudError:
        return CloudError(self.conflict_code, message, 409)

    def quota(self, message: str) -> CloudError:
        return CloudError(self.quota_code, message, self.quota_status)


IAM = ServiceErrors("PAP5.0002", "PAP5.0004", "PAP5.0009", "PAP5.0012")
ORGANIZATIONS = ServiceErrors(
    "Organizations.1001", "Organizations.1004", "Organizations.1009", "Organizations.1012", 400
)
