"""A rich progress bar for training: step, loss, raw drift RMS, steps/s and the last eval.

    train ━━━━━━━━━━━  500/2000  loss 2.9981  drift 0.0412  23.1 steps/s  │ energy_distance 0.0031  precision 0.962

The eval part shows the headline metrics (``zoo.metrics.headline``: energy distance and
precision for point clouds, FD and class accuracy for images) of the latest evaluation and
stays until the next one; before the first step and the first eval a value reads ``-``,
never ``nan``.
"""
from __future__ import annotations

import math
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from zoo.metrics.headline import headline


def _num(value, spec: str) -> str:
    """``value`` formatted with ``spec``, or '-' when it is missing or not finite."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return format(value, spec) if ok else "-"


def stats_text(loss=None, drift=None, rate: float = 0.0) -> str:
    """'loss 2.9981  drift 0.0412  23.1 steps/s' ('-' for a value not known yet)."""
    return f"loss {_num(loss, '.4f')}  drift {_num(drift, '.3g')}  {_num(rate, '.1f')} steps/s"


def eval_text(metrics: dict) -> str:
    """'│ energy_distance 0.0031  precision 0.962' for the headline metrics of an eval row."""
    keys = headline(k for k, v in metrics.items() if _num(v, "g") != "-")
    return ("│ " + "  ".join(f"{k} {_num(metrics[k], '.4g')}" for k in keys)) if keys else ""


class StepProgress:
    """Context manager; ``update(step, loss, drift)`` after every step and ``evaluated(metrics)``
    after every eval. Disabled -> no output."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, console: Console | None = None):
        self.total, self.start, self.enabled = total, start, enabled
        self._t0 = self._n0 = None
        self._rate = 0.0
        self.stats, self.evals = stats_text(), ""
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}  {task.fields[evals]}", markup=False),
            TimeRemainingColumn(), console=console or Console(stderr=True),
            disable=not enabled, refresh_per_second=4)

    def __enter__(self):
        self._progress.__enter__()
        self._task = self._progress.add_task("train", total=self.total, completed=self.start,
                                             stats=self.stats, evals=self.evals)
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
        self.stats = stats_text(loss, drift, self._rate)
        self._progress.update(self._task, completed=step, stats=self.stats)

    def evaluated(self, metrics: dict) -> None:
        """Show the headline metrics of an eval row until the next one."""
        self.evals = eval_text(metrics)
        self._progress.update(self._task, evals=self.evals)
