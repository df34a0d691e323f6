r"""Train a drifting model from gin files and bindings; resumes when the run folder exists.

    drift-zoo train --gin_file gin/experiments/toy.gin --gin_param 'train.seed = 1'
    drift-zoo train --gin_file gin/debug.gin --workdir /tmp/run --dry_run
    drift-zoo --import my_fields.py train --gin_file gin/experiments/toy.gin \
        --gin_param 'train.field = @my_field'
    torchrun --standalone --nproc_per_node 8 -m zoo.cli train \
        --gin_file gin/experiments/imagenet_latent_b.gin

Gin files are found relative to the current folder or the repository root. Bad input (a gin
error, a missing file, an invalid setting) is one line on stderr before any work, exit 2. A
crash during training is not caught: its traceback reaches the screen, and the run folder's
summary.json says "failed". Ctrl-C finishes the step, checkpoints and exits 130; rerunning
the same command resumes. A finished run prints its folder, metrics and pictures. Plug-ins
loaded with --import are copied to <run>/plugins/ so the run can be rebuilt without them.

Under torchrun (``zoo.dist``) the process group is set up before gin builds the dataset (so a
sharded dataset splits its shards by rank); only rank 0 prints and writes the run folder.
"""
from __future__ import annotations

import os
import signal
import socket
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from zoo.cli import parser
from zoo.config import ConfigError, parse
from zoo.run.report import metrics_table, print_error
from zoo.run.tensorboard import ENV as TENSORBOARD_ENV

BAD_INPUT = (ValueError, FileNotFoundError, KeyError, TypeError)


@contextmanager
def _signals_seen():
    """Yields a set that, on exit, holds the signal numbers delivered meanwhile (through
    Python's wakeup fd, so it sees signals whatever handler the loop installed)."""
    seen: set[int] = set()
    try:
        recv, send = socket.socketpair()
        recv.setblocking(False)
        send.setblocking(False)
        old = signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError):  # not the main thread
        yield seen
        return
    try:
        yield seen
    finally:
        signal.set_wakeup_fd(old)
        try:
            seen.update(recv.recv(1024))
        except BlockingIOError:
            pass
        recv.close()
        send.close()


def _report(summary: dict, interrupted_by_user: bool) -> int:
    """Print the outcome of rank 0's run; returns the exit code."""
    out = Console(soft_wrap=True)
    workdir = Path(summary["workdir"])
    if summary["status"] == "interrupted":
        out.print(f"interrupted at step {summary.get('step')}; rerun the same command to resume "
                  f"(run folder {workdir})", highlight=False)
        return 130 if interrupted_by_user else 0
    out.print(f"run folder: [bold]{workdir}[/]  status: {summary['status']}")
    if summary.get("final_metrics"):
        out.print(metrics_table(summary))
    for name in ("samples.png", "curves.png"):
        if (workdir / name).is_file():
            out.print(f"{name.split('.')[0]}: {workdir / name}", highlight=False)
    return 0 if summary["status"] == "finished" else 1


def main(argv=None) -> int:
    ap = parser("train", __doc__)
    ap.add_argument("--gin_file", action="append", default=[], help="gin file (repeatable)")
    ap.add_argument("--gin_param", action="append", default=[], help="gin binding (repeatable)")
    ap.add_argument("--workdir", default=None, help="run folder (default: results/runs/<id>-...)")
    ap.add_argument("--dry_run", action="store_true", help="print the parsed config and exit")
    ap.add_argument("--no_progress", action="store_true", help="no progress bar")
    ap.add_argument("--tensorboard", action="store_true",
                    help="also write TensorBoard event files (ZOO_TENSORBOARD=1)")
    args = ap.parse_args(argv)
    if args.tensorboard:
        os.environ[TENSORBOARD_ENV] = "1"
    if not args.gin_file:
        return print_error("give at least one --gin_file, e.g. gin/experiments/toy.gin")
    try:
        text = parse(args.gin_file, args.gin_param)
    except ConfigError as err:
        return print_error(err)
    import gin

    from zoo import dist, plugins
    from zoo.run.train import failed_run, train

    if args.dry_run:
        print(gin.config_str())
        return 0
    dist.setup()
    try:
        with _signals_seen() as seen:
            summary = train(workdir=args.workdir, config_text=text, progress=not args.no_progress)
    except BaseException as err:  # noqa: BLE001 -- a started run keeps its plug-ins, then re-raise
        if not failed_run(err):  # refused before the start: the folder is not this run's
            if isinstance(err, BAD_INPUT):
                return print_error(err if dist.is_main() else f"rank {dist.rank()}: {err}")
            raise
        if dist.is_main():
            plugins.save(failed_run(err))
        raise  # a crash: the traceback is the message (summary.json says "failed")
    dist.cleanup()  # only after a clean return: a final barrier would wait for a dead rank
    if not dist.is_main():
        return 0 if summary["status"] in ("finished", "interrupted") else 1
    plugins.save(summary["workdir"])
    return _report(summary, signal.SIGINT in seen)

