"""``sim app``'s process: the Solara server (sim/app.py) as a child, ended with everything under it.

The server (``python -m solara run``) runs in a process group of its own. ``sim app`` waits for
it; on SIGTERM, SIGINT (Ctrl-C) or SIGHUP it ends the whole group: SIGTERM first, SIGKILL for
what is still there after a grace period. On Linux the server also gets SIGTERM when ``sim app``
itself dies without a chance to clean up (SIGKILL), so no server is left serving on the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

APP_PAGE = Path(__file__).resolve().parent / "app.py"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE_S = 5.0


class _Stop(Exception):
    """Raised in the main thread by a stop signal, to leave the wait for the server."""


def _raise_stop(signum, _frame) -> None:
    raise _Stop(signum)


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_process_group(child: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """End ``child``'s process group (the child and all it started): SIGTERM, then SIGKILL."""
    pgid = child.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            child.poll()  # reap the child, so that only live members keep the group alive
            if not _group_alive(pgid):
                break
            time.sleep(0.05)
    child.wait()


def serve_app(scenario: str, host: str, port: int) -> int:
    """Run the browser view on ``host:port`` until the server stops or a stop signal comes."""
    cmd = [sys.executable, "-m", "solara", "run", str(APP_PAGE), "--host", host, "--port", str(port),
           "--no-open", "--production"]
    env = dict(os.environ, SIM_APP_SCENARIO=str(Path(scenario).resolve()))
    previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
    try:
        child = subprocess.Popen(cmd, env=env, start_new_session=True,
                                 preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        try:
            return child.wait()
        except _Stop:
            print("sim app: stopped", file=sys.stderr)
            return 0
        finally:
            for sig in STOP_SIGNALS:  # a second signal must not cut the clean-up short
                signal.signal(sig, signal.SIG_IGN)
            end_process_group(child)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
