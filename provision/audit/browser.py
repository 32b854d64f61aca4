"""Open an HTML report in headless Chromium (Debian's ``chromium``), driven by playwright's Python
package: the browser test of the report and ``make demo``'s screenshots.

Playwright cannot download its own browser here, so it launches the system one by path. Chromium runs
with everything that reaches the network switched off; the report needs no network anyway.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ENV = "PROVISION_CHROMIUM"  # a chromium binary to use instead of the one on PATH
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")
WIDTHS = (1400, 390)  # desktop, phone
HEIGHT = 900


def chromium_path() -> str | None:
    """The chromium binary: ``PROVISION_CHROMIUM`` when set, else ``chromium`` on PATH; None when absent."""
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium; raises RuntimeError when none is installed."""
    from playwright.sync_api import sync_playwright  # a dev dependency: imported only when used

    path = chromium_path()
    if path is None:
        raise RuntimeError("no chromium found: apt-get install chromium (or set PROVISION_CHROMIUM)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=path, args=list(FLAGS), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshots(report: Path, out_dir: Path, widths: tuple[int, ...] = WIDTHS) -> list[Path]:
    """Full-page screenshots of ``report`` at each width: ``out_dir/<stem>-<width>.png``."""
    written = []
    with chromium() as browser:
        for width in widths:
            page = browser.new_page(viewport={"width": width, "height": HEIGHT})
            page.goto(report.resolve().as_uri())
            target = out_dir / f"{report.stem}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            page.close()
            written.append(target)
    return written
