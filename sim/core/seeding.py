"""The one seeding scheme of the project.

A run has a root seed. Replication ``i`` gets ``SeedSequence(root, spawn_key=(i,))``,
exactly what ``SeedSequence(root).spawn(n)[i]`` gives, so its seed depends on
the root and the index only, never on which worker ran it or in what order.

Inside a replication, independent streams are derived by name (for example
``"weather"`` or a parameter's dotted path). Naming the stream rather than
counting draws gives common random numbers across options: replication ``i``
of *hold* and of *withdraw* see the same weather and the same draw of every
uncertain input they share, whatever else differs between the two files.
"""

from __future__ import annotations

import zlib

import numpy as np


def replication_seed(root_seed: int, index: int) -> np.random.SeedSequence:
    """The SeedSequence of replication ``index`` of a run with ``root_seed``."""
    return np.random.SeedSequence(int(root_seed), spawn_key=(int(index),))


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (CRC-32; Python's ``hash`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


def substream(seq: np.random.SeedSequence, name: str) -> np.random.Generator:
    """An independent generator for the stream ``name`` of a replication."""
    child = np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (stream_key(name),))
    return np.random.Generator(np.random.PCG64(child))


def seed_int(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer that identifies the replication's seed (the ``seed`` column)."""
    return int(seq.generate_state(2, dtype=np.uint32).astype(np.uint64) @ np.array([1 << 31, 1], dtype=np.uint64)) & ((1 << 63) - 1)
