"""The browser view: `sim app` serves the model, a real browser steps it, and stopping `sim app`
ends everything it started. Also what `make test` provisions for the browser test (.ci/provision)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "mini_scenario.yaml"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "results" / "test-artifacts"
PROVISION = ROOT / ".ci" / "provision"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children, their children, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return [p for p in found if alive(p)]


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start_app(port: int) -> subprocess.Popen:
    """`sim app` on the mini scenario at ``port``, once it answers HTTP."""
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "app", str(MINI), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log = log
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    left = stop_app(proc, signal.SIGKILL)
    log.seek(0)
    pytest.fail(f"sim app did not answer within 90 s (left {left}):\n{log.read()}")


def stop_app(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> list[int]:
    """Send ``sig`` to `sim app` and wait for it; return the processes it started that are still
    alive after it exited (and kill them, so that no test leaves a server behind)."""
    tree = descendants(proc.pid)
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    left = [p for p in tree if alive(p)]
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start_app(port)
    yield f"http://127.0.0.1:{port}/"
    stop_app(proc)


def test_app_binds_to_localhost_only(server):
    assert server.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_sim_app_ends_its_whole_process_tree(sig):
    port = free_port()
    proc = start_app(port)
    assert descendants(proc.pid), "the Solara server runs as a child of sim app"
    left = stop_app(proc, sig)
    assert left == [], f"still running after sim app exited: {left}"
    assert not listening(port), f"something still listens on port {port}"
    assert proc.returncode == 0


@contextmanager
def browser_page():
    """A page of a headless Chromium (the one `make provision` provides), closed afterwards."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make provision` (installs Debian's chromium) or set CHROMIUM")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1100})
        finally:
            browser.close()


def test_page_shows_the_model_and_steps_in_a_real_browser(server):
    with browser_page() as page:
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
    assert (ARTIFACTS / "app_after_3_steps.png").stat().st_size > 20_000


def test_ensemble_page_runs_a_tiny_ensemble_in_a_real_browser(server):
    """The single-run view links to /ensemble; there, 2 options x 2 replications of a 10-day horizon run
    in the background, the progress line counts them, and the probability map appears; a link leads back."""
    with browser_page() as page:
        page.goto(server, wait_until="domcontentloaded", timeout=60_000)
        page.get_by_text("Ensemble: options", exact=False).first.click(timeout=60_000)
        page.get_by_text("Replications per option").first.wait_for(timeout=60_000)
        assert page.url.endswith("/ensemble")
        for kind in ("hold", "withdraw", "reinforce", "kursk_pressure"):  # the option registry's, each a checkbox
            assert page.get_by_label(kind, exact=True).is_checked()
        for kind in ("reinforce", "kursk_pressure"):
            page.get_by_label(kind, exact=True).uncheck(force=True)  # Vuetify's ripple covers the box itself
        for label, value in (("Replications per option", "2"), ("Days (horizon)", "10"), ("Seed", "3")):
            page.get_by_label(label).fill(value)
            page.get_by_label(label).press("Enter")
        assert page.locator("img").count() == 0
        page.get_by_role("button", name="Run", exact=True).click()
        try:
            page.get_by_text("4 of 4 replications", exact=False).first.wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "app_ensemble_failed.png"), full_page=True)
            pytest.fail(f"the ensemble did not finish within 60 s; the page says:\n{page.inner_text('body')}")
        page.get_by_text("finished", exact=False).first.wait_for(timeout=30_000)
        page.get_by_text("Control probability", exact=False).first.wait_for(timeout=30_000)
        page.locator("img").first.wait_for(timeout=30_000)  # the maps, the survival curve, the fans
        page.wait_for_timeout(500)
        shot = page.screenshot(path=str(ARTIFACTS / "app_ensemble.png"), full_page=True)
        assert page.locator("img").count() >= 3 and len(shot) > 20_000
        page.get_by_text("Single run", exact=False).first.click()
        page.get_by_text("Ensemble: options", exact=False).first.wait_for(timeout=60_000)  # the single-run view again


def provision(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/bash", str(PROVISION)], env=env, capture_output=True, text=True, timeout=60)


def test_provisioning_accepts_a_named_browser():
    done = provision({"PATH": os.environ["PATH"], "CHROMIUM": sys.executable})
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("case", ["named browser missing", "cannot install"])
def test_a_browser_that_cannot_be_had_fails_in_one_line_saying_what_to_install(case, tmp_path):
    if case == "named browser missing":
        env = {"PATH": os.environ["PATH"], "CHROMIUM": "/nonexistent"}
    else:  # no chromium on PATH and no apt-get to install it with
        (tmp_path / "id").symlink_to(shutil.which("id"))
        env = {"PATH": str(tmp_path)}
    done = provision(env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "apt-get install chromium" in lines[0] and "CHROMIUM=" in lines[0]


def test_make_test_provisions_the_browser_first():
    done = subprocess.run(["make", "-s", "-n", "test"], cwd=ROOT, capture_output=True, text=True)
    commands = done.stdout.splitlines()
    provisioned = [i for i, c in enumerate(commands) if ".ci/provision" in c]
    tests = [i for i, c in enumerate(commands) if "pytest" in c]
    assert provisioned and tests and provisioned[0] < tests[0], done.stdout
    failed = subprocess.run(["make", "-s", "provision", "CHROMIUM=/nonexistent"], cwd=ROOT, capture_output=True,
                            text=True)
    assert failed.returncode != 0 and "CHROMIUM=/nonexistent is not an executable file" in failed.stderr
