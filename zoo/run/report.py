"""What the tools print: rich tables of a run's results and one-line errors."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zoo.config import clean_error
from zoo.metrics.headline import signed_label, signed_note


def print_error(err: BaseException | str) -> int:
    """Print ``error: <message>`` to stderr (gin's trailer lines dropped); returns exit code 2."""
    message = err if isinstance(err, str) else clean_error(err)
    Console(stderr=True, soft_wrap=True).print("[red]error:[/]", escape(message), highlight=False)
    return 2


def metrics_table(summary: dict) -> Table:
    """One row per final metric of a run summary, plus steps and speed; a footer says which
    metrics are unbiased estimates that can be negative (``zoo.metrics.headline``)."""
    metrics = summary.get("final_metrics") or {}
    title, note = str(summary.get("workdir", "run")), signed_note(metrics)
    table = Table(title=title, title_justify="left", caption=note or None, caption_justify="left",
                  min_width=max(len(title), len(note)))  # neither is wrapped mid-word
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(signed_label(key), f"{value:.4g}" if isinstance(value, float) else str(value))
    table.add_row("steps", str(summary.get("step")))
    table.add_row("steps/s", str(summary.get("steps_per_s")))
    table.add_row("wall time (s)", str(summary.get("wall_time")))
    return table
