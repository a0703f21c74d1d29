"""Screenshots of report-site pages with Debian's headless chromium (for looking at the site).

    PYTHONPATH=$PWD .venv/bin/python tools/site_screenshots.py out/site/index.html out/site/resnet50.html

writes ``<page>.png`` next to each page under ``out/screenshots/`` (or ``--out DIR``); ``--height H``
caps the page height captured (default: the whole page, up to 6000 px).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def chromium(profile: str, width: int, height: int = 900, console_log: bool = False) -> webdriver.Chrome:
    """Debian's headless chromium through its own chromedriver: the paths are given, so selenium-manager
    never downloads a browser or a driver. The flags keep chromium off this machine's closed network;
    ``console_log`` keeps the page's console messages for ``get_log("browser")``. The site's browser
    tests use this too (tests/test_site.py)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        raise SystemExit(f"{missing} missing: tools/setup.sh installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def main() -> None:
    """Capture each page given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("out/screenshots"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=6000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        browser = chromium(profile, args.width)
        try:
            for page in args.pages:
                browser.get(page.resolve().as_uri())
                height = browser.execute_script("return document.documentElement.scrollHeight")
                browser.set_window_size(args.width, min(int(height) + 120, args.height))
                target = args.out / f"{page.stem}.png"
                browser.save_screenshot(str(target))
                print(target)
        finally:
            browser.quit()


if __name__ == "__main__":
    main()
