"""`make screenshots`: Debian's chromium renders the main pages of the demo world to PNG files.

    python -m tests.browser.screenshots docs/screenshots

The server is started as the browser suite starts it (a fresh migrated database with the demo world,
served by ``flask run`` on 127.0.0.1), then each page is opened by a visitor or a demo account that
signed in through the login form. Desktop pages are 1280 px wide, the mobile ones 390 px; each PNG
holds the whole page, cut at MAX_HEIGHT so that a long page does not make a huge file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.browser.conftest import CHROMIUM, MISSING_BROWSER, ROOT, LiveServer, start_live_server
from tests.browser.pages import VISITOR, main_pages, sign_in_as

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
#: The tallest picture, in CSS pixels: a longer page is cut there.
MAX_HEIGHT = 3000
#: (viewer, page name of ``main_pages``) of each picture, in the order the README shows them.
SCREENSHOTS = (
    (VISITOR, "home"),
    (VISITOR, "archive-search"),
    (VISITOR, "proposal-endorsed"),
    ("expert", "proposal-form"),
    ("council", "council-dashboard"),
    ("secretariat", "workspace-in-review"),
    ("secretariat", "secretariat-dashboard"),
)
#: The pages also pictured on a phone, as ``mobile-<name>.png``.
MOBILE_SCREENSHOTS = ((VISITOR, "archive-search"), (VISITOR, "proposal-endorsed"))


@dataclass(frozen=True)
class Screenshot:
    """One picture: ``address`` on the server as ``viewer`` sees it (VISITOR or a role of DEMO_ACCOUNTS)."""

    name: str
    address: str
    viewer: str
    is_mobile: bool = False

    @property
    def viewport(self) -> dict:
        return MOBILE if self.is_mobile else DESKTOP


def main_screenshots(server: LiveServer) -> list[Screenshot]:
    """SCREENSHOTS, then MOBILE_SCREENSHOTS, at the addresses ``main_pages`` gives in the demo world."""
    addresses = {(viewer, name): address for viewer, pages in main_pages(server).items() for name, address in pages}
    return [
        *(Screenshot(name, addresses[viewer, name], viewer) for viewer, name in SCREENSHOTS),
        *(Screenshot(f"mobile-{name}", addresses[viewer, name], viewer, is_mobile=True)
          for viewer, name in MOBILE_SCREENSHOTS),
    ]


def take(page, screenshot: Screenshot, folder: Path) -> Path:
    """Open the page and save it whole, down to MAX_HEIGHT."""
    response = page.goto(screenshot.address)
    if response is None or response.status != 200:
        raise RuntimeError(f"{screenshot.address} answered {response and response.status}, not 200")
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    path = folder / f"{screenshot.name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled",
                    clip={"x": 0, "y": 0, "width": screenshot.viewport["width"], "height": height})
    return path


def render(server: LiveServer, screenshots: list[Screenshot], folder: Path) -> list[Path]:
    """Take every screenshot; each (viewer, device) has a browser context of its own, signed in once."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            pages = {}
            for screenshot in screenshots:
                key = (screenshot.viewer, screenshot.is_mobile)
                if key not in pages:
                    context = browser.new_context(base_url=server.url, viewport=screenshot.viewport)
                    pages[key] = context.new_page()
                    sign_in_as(pages[key], screenshot.viewer)
                paths.append(take(pages[key], screenshot, folder))
        finally:
            browser.close()
    return paths


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python -m tests.browser.screenshots FOLDER", file=sys.stderr)
        return 2
    if not CHROMIUM:
        print(MISSING_BROWSER, file=sys.stderr)
        return 1
    folder = Path(arguments[0]).resolve()
    with TemporaryDirectory(prefix="screenshots-") as work, start_live_server(Path(work)) as server:
        for path in render(server, main_screenshots(server), folder):
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
