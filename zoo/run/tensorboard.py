"""TensorBoard event files beside metrics.jsonl: every record a run logs, as scalars.

    ZOO_TENSORBOARD=1 drift-zoo train ...          (or drift-zoo train / sweep --tensorboard)
    tensorboard --logdir results/runs/sweeps/<sweep>     # every run's curves side by side

A record {"kind": k, "step": s, name: value, ...} becomes one scalar per number, tagged
``<k>/<name>`` (``train/loss``, ``train/drift_rms/0.05``, ``eval/energy_distance``) at step s,
written to ``events.out.tfevents.*`` in the run folder. Off by default: the event files are a
view of metrics.jsonl (the record of truth), so switching them on never changes a run's config
or identity, and a run resumes with or without them. Needs the optional extra
``pip install 'drift-zoo[tensorboard]'`` (torch.utils.tensorboard imports the ``tensorboard``
package); without it the run says so in one line and writes none.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

ENV = "ZOO_TENSORBOARD"
MISSING = ("tensorboard is not installed: no event files for this run "
           "(pip install 'drift-zoo[tensorboard]')")


def enabled() -> bool:
    """Whether runs write event files: ZOO_TENSORBOARD is set to anything but '', '0'."""
    return os.environ.get(ENV, "") not in ("", "0")


def scalars(record: dict) -> list[tuple[str, float]]:
    """[(tag, value)] of a metrics.jsonl record's numbers (bools and text left out)."""
    kind = record.get("kind", "train")
    return [(f"{kind}/{k}", float(v)) for k, v in record.items()
            if k not in ("kind", "step") and isinstance(v, (int, float))
            and not isinstance(v, bool)]


def writer(folder):
    """A SummaryWriter on ``folder``, or None (one info line) when tensorboard is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        Console(stderr=True, soft_wrap=True).print(f"[dim]info:[/] {escape(MISSING)}",
                                                   highlight=False)
        return None
    return SummaryWriter(log_dir=str(folder))


@contextmanager
def mirror(run):
    """While open, every ``run.log(record)`` also goes to the run folder's event file (when
    ``enabled()`` and tensorboard imports); closed (flushed) at exit."""
    from zoo import dist

    w = writer(run.path) if enabled() and dist.is_main() else None
    if w is None:
        yield None
        return

    def write(record: dict) -> None:
        for tag, value in scalars(record):
            w.add_scalar(tag, value, global_step=int(record.get("step", 0)))

    run.listeners.append(write)
    try:
        yield w
    finally:
        run.listeners.remove(write)
        w.close()
