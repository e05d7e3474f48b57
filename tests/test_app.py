"""The browser view in a real browser: start `sim app`, step the model, see the page change."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "results" / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sim", "app", str(ROOT / "tests" / "data" / "mini_scenario.yaml"),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("sim app did not answer within 90 s:\n" + (proc.stdout.read() if proc.stdout else ""))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_app_binds_to_localhost_only(server):
    assert server.startswith("http://127.0.0.1:")


def test_page_shows_the_model_and_steps_in_a_real_browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(server, wait_until="domcontentloaded", timeout=60_000)
        page.get_by_text("Day 0", exact=False).first.wait_for(timeout=60_000)
        before = page.screenshot()
        for _ in range(3):
            page.get_by_role("button", name="Step").click()
        page.get_by_text("Day 3", exact=False).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        after = page.screenshot(path=str(ARTIFACTS / "app_after_3_steps.png"), full_page=True)
        assert after != before
        assert page.get_by_text("Option").count() > 0  # the controls are there
        browser.close()
    assert (ARTIFACTS / "app_after_3_steps.png").stat().st_size > 20_000
