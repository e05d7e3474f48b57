"""The one atomic writer: a file is either whole under its name or not there.

Every result file (Parquet, JSON, PNG, HTML, GIF) is written under a
temporary name beside its target and renamed when whole, so a reader, a
``--resume`` or a killed process never sees half a file under the real name.
A write that fails (disk full, read-only folder) leaves no temporary behind
and is reported as one :class:`~sim.core.errors.InputError` line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sim.core.errors import InputError

PART_SUFFIX = ".part"


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` for a temporary path beside ``path``, then rename it to ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + PART_SUFFIX)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        reason = error.strerror or str(error)
        raise InputError(f"cannot write {path}: {reason}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
