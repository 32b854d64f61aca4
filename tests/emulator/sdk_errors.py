"""What an official SDK call raised, for tests that expect a cloud error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException


def sdk_error(call: Callable[[], object]) -> ClientException:
    """The ClientException ``call`` raises; the test fails when it raises none."""
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def error_of(call: Callable[[], object]) -> tuple[str, int]:
    """The (code, HTTP status) of the ClientException ``call`` raises."""
    error = sdk_error(call)
    return error.code, error.status_code
