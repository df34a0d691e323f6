"""What the tools print: rich tables of a run's results and one-line errors."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zoo.config import clean_error


def print_error(err: BaseException | str) -> int:
    """Print ``error: <message>`` to stderr (gin's trailer lines dropped); returns exit code 2."""
    message = err if isinstance(err, str) else clean_error(err)
    Console(stderr=True, soft_wrap=True).print("[red]error:[/]", escape(message), highlight=False)
    return 2


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
