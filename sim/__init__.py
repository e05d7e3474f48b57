"""Pokrovsk scenario simulator: an agent-based model (Mesa) of the fight for Pokrovsk."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pokrovsk-sim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
