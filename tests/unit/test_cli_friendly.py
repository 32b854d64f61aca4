"""What a command prints when it fails as expected or is interrupted: one line, the right exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from provision.cli.common import friendly, write_out
from provision.errors import EXIT_INTERRUPTED, ProvisionError


def interrupted(name: str) -> Callable[[], None]:
    def command() -> None:
        raise KeyboardInterrupt

    command.__name__ = name
    return friendly(command)


@pytest.mark.parametrize("name, expected", [
    ("plan", "interrupted: nothing was changed"),
    ("verify", "interrupted: nothing was changed"),
    ("audit", "interrupted: nothing was changed"),
    ("apply", "interrupted: every change that finished is listed above; run apply again"),
    ("revoke", "interrupted: run revoke again"),
    ("membership_confirm", "interrupted: run the command again"),
])
def test_ctrl_c_says_what_the_interrupted_command_leaves(name: str, expected: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    command = interrupted(name)
    with pytest.raises(typer.Exit) as stop:
        command()
    assert stop.value.exit_code == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.startswith(expected)
    if name != "apply":
        assert "apply" not in err


def test_an_output_file_that_cannot_be_written_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError) as error:
        write_out(tmp_path / "missing" / "plan.json", "{}")
    assert str(error.value).startswith(f"cannot write {tmp_path / 'missing' / 'plan.json'}: No such file")
    write_out(tmp_path / "plan.json", "{}")
    assert (tmp_path / "plan.json").read_text() == "{}"
