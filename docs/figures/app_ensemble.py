"""Takes README's screenshot of the ensemble page, docs/figures/app_ensemble.png, with Playwright:
`sim app` on its default scenario, the four options, 12 replications each with the posterior, seed 1.

    .venv/bin/python docs/figures/app_ensemble.py [--runs 12] [--port 8799]

Needs a Chromium (`make provision`; CHROMIUM=/path/to/chromium names another). A few minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "figures" / "app_ensemble.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    url = f"http://127.0.0.1:{args.port}/"
    app = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(args.port)], cwd=ROOT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        shoot(url, chromium, args.runs)
    finally:
        app.send_signal(signal.SIGTERM)  # sim app ends the server and the workers it started
        app.wait(timeout=60)
    print(f"wrote {OUT}")
    return 0


def shoot(url: str, chromium: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 1160})
        page.goto(url + "ensemble", wait_until="domcontentloaded", timeout=60_000)
        page.get_by_text("Replications per option").first.wait_for(timeout=60_000)
        for label, value in (("Replications per option", str(runs)),
                             ("Posterior file (optional)", "scenarios/posterior_tempo.yaml")):
            page.get_by_label(label).fill(value)
            page.get_by_label(label).press("Enter")
        page.get_by_role("button", name="Run", exact=True).click()
        total = 4 * runs
        page.get_by_text(f"{total} of {total} replications", exact=False).first.wait_for(timeout=900_000)
        page.get_by_text("finished", exact=False).first.wait_for(timeout=60_000)
        page.wait_for_timeout(6000)  # the last figures
        page.screenshot(path=str(OUT))
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
