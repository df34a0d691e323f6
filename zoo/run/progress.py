"""A rich progress bar for training: step, loss, raw drift RMS and steps/s."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class StepProgress:
    """Context manager; ``update(step, loss, drift)`` after every step. Disabled -> no output."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True):
        self.total, self.start, self.enabled = total, start, enabled
        self._t0 = self._n0 = None
        self._rate = 0.0
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  drift {task.fields[drift]:.3g}  "
                       "{task.fields[rate]:.1f} steps/s"), TimeRemainingColumn(),
            console=Console(stderr=True), disable=not enabled, refresh_per_second=4)

    def __enter__(self):
        self._progress.__enter__()
        self._task = self._progress.add_task("train", total=self.total, completed=self.start,
                                             loss=float("nan"), drift=float("nan"), rate=0.0)
        return self

    def __exit__(self, *exc):
        return self._progress.__exit__(*exc)

    def rate(self) -> float:
        """Steps per second since the bar started (excluding the first step's warm-up)."""
        return round(self._rate, 3)

    def update(self, step: int, loss: float, drift: float) -> None:
        now = time.perf_counter()
        if self._t0 is None:
            self._t0, self._n0 = now, step
        elif now > self._t0:
            self._rate = (step - self._n0) / (now - self._t0)
        self._progress.update(self._task, completed=step, loss=loss, drift=drift, rate=self._rate)
