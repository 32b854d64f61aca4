"""The HTML audit report of a seeded account, in headless Chromium at desktop and phone widths.

Asserts through the DOM: the filters narrow the findings, a collapsed group expands, the access picture
has one node per user and workspace, every finding links to a row of the access map, and no table
overflows the viewport (each scrolls inside its own container).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from provision.audit.browser import WIDTHS, chromium, chromium_path
from tests.e2e.test_audit import DAY_S, FAR, apply_example, audit, seed_risks

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.e2e.conftest import Cli

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    chromium_path() is None, reason="no chromium installed (apt-get install chromium; .ci/run does)")]

VISIBLE_FINDINGS = ("Array.from(document.querySelectorAll('#findings-table tr.finding'))"
                    ".filter(r => !r.hidden).length")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def shown(page: Page) -> int:
    count: int = page.evaluate(VISIBLE_FINDINGS)
    return count


def test_the_report_filters_expands_pictures_and_fits_a_phone(cli: Cli, browser: Browser) -> None:
    manifest = apply_example(cli, FAR)
    seed_risks(cli)
    cli.cloud.advance_clock(91 * DAY_S)
    # the first audit's membership probes use the members' keys: later audits agree with one another
    audit(cli, manifest, "md")
    audit(cli, manifest, "html")
    document: dict[str, Any] = json.loads(audit(cli, manifest, "json"))
    report = cli.home / "audit.html"
    findings = document["findings"]
    groups = {f["check_id"] for f in findings}
    users = [u["name"] for u in document["access_map"]["users"]]
    workspaces = [w["name"] for w in document["access_map"]["workspaces"]]

    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(report.as_uri())

        # collapsed: one row per check (a group row, or its only finding)
        rows_shown = page.evaluate(
            "document.querySelectorAll('#findings-table tr.group:not([hidden])').length")
        assert shown(page) + rows_shown == len(groups) and shown(page) < len(findings)
        page.select_option("#f-check", "BAILIAN-002")  # 4 keys older than 90 days: one collapsed group
        group = page.locator("#findings-table tr.group[data-group='BAILIAN-002']")
        assert group.is_visible() and shown(page) == 0
        group.locator("button.expand").click()
        assert shown(page) == sum(1 for f in findings if f["check_id"] == "BAILIAN-002") == 4
        assert page.locator("#findings-count").inner_text() == f"Showing 4 of {len(findings)} findings."

        page.select_option("#f-user", "contractor")
        assert shown(page) == 2 and group.locator(".count").inner_text() == "2 of 4"
        page.fill("#f-text", "no-such-text")
        assert shown(page) == 0 and not group.is_visible()
        page.fill("#f-text", "")
        page.select_option("#f-check", "")
        page.select_option("#f-user", "")
        page.select_option("#f-manifest", "not managed")
        unmanaged = [f for f in findings if f["manifest"] == ""]
        assert page.locator("#findings-count").inner_text() == \
            f"Showing {len(unmanaged)} of {len(findings)} findings." and 0 < len(unmanaged) < len(findings)

        # every finding links to a row of the access map
        targets = page.evaluate("Array.from(document.querySelectorAll('#findings-table a.to-map'))"
                                ".map(a => a.getAttribute('href').slice(1))")
        assert len(targets) == len(findings)
        assert page.evaluate("ids => ids.every(id => document.getElementById(id) !== null && "
                             "id !== 'access-map')", targets)

        # the picture: one node per user and per workspace
        names = page.evaluate("kind => Array.from(document.querySelectorAll("
                              "'#reach g.node[data-kind=' + kind + ']')).map(n => n.dataset.name)", "user")
        assert names == users
        assert page.evaluate("document.querySelectorAll('#reach g.node[data-kind=workspace]').length") == \
            len(workspaces)

        # nothing wider than the screen: tables scroll inside their own container
        fits = page.evaluate("""() => {
            const w = document.documentElement.clientWidth;
            const tables = Array.from(document.querySelectorAll('table'));
            return {page: document.documentElement.scrollWidth <= w,
                    tables: tables.length,
                    boxed: tables.every(t => t.parentElement.classList.contains('scroll')
                                         && t.parentElement.getBoundingClientRect().right <= w + 0.5)};
        }""")
        assert fits == {"page": True, "tables": fits["tables"], "boxed": True} and fits["tables"] >= 9
        page.close()
