"""The JSON report's published schema: `provision audit --schema` prints it, docs/audit.schema.json is
its checked-in copy, and a real report of a seeded account validates against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from provision.audit.document import json_schema
from tests.e2e.test_audit import DAY_S, FAR, apply_example, audit, seed_risks

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e
CHECKED_IN = Path(__file__).parents[2] / "docs" / "audit.schema.json"


def test_the_checked_in_schema_is_the_one_the_cli_prints(offline_cli: Cli) -> None:
    printed = offline_cli("audit", "--schema")
    assert printed.exit_code == 0 and printed.stdout == json_schema()
    assert CHECKED_IN.read_text() == printed.stdout, \
        "docs/audit.schema.json is stale: run `provision audit --schema > docs/audit.schema.json`"


def test_a_real_report_validates_against_the_published_schema(cli: Cli) -> None:
    manifest = apply_example(cli, FAR)
    seed_risks(cli)
    cli.cloud.advance_clock(91 * DAY_S)
    document = json.loads(audit(cli, manifest, "json"))
    schema = json.loads(CHECKED_IN.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["findings"] and document["access_map"]["users"] and document["top_risks"]
    broken = {**document, "findings": [{**document["findings"][0], "severity": "dire"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
