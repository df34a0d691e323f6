"""Rich tables of a run's results."""
from __future__ import annotations

from rich.table import Table


def metrics_table(summary: dict) -> Table:
    """One row per final metric of a run summary, plus steps and speed."""
    table = Table(title=summary.get("workdir", "run"), title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in (summary.get("final_metrics") or {}).items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    table.add_row("steps", str(summary.get("step")))
    table.add_row("steps/s", str(summary.get("steps_per_s")))
    table.add_row("wall time (s)", str(summary.get("wall_time")))
    return table
