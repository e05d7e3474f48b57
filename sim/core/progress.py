"""A progress bar for long work: runs done, rate and time left (rich)."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RateColumn(TextColumn):
    """Replications per second."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[override]
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} runs/s" if speed else "-- runs/s", style="progress.data.speed")


@contextmanager
def progress_bar(total: int, label: str, enabled: bool = True):
    """Yields ``advance()``; draws on stderr, so stdout stays clean for tables."""
    if not enabled:
        yield lambda n=1: None
        return
    console = Console(stderr=True)
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n=1: progress.advance(task, n)
