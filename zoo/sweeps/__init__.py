"""Sweeps: named grids of gin bindings over a base config, launched locally or on slurm.

    spec.py    sweep / fixed / product / zip / chain, points and their run names
    load.py    gin/sweeps/*.py files and --axis strings -> a Sweep
    lock.py    one O_EXCL lock per run folder (pid/host, stale detection)
    job.py     one point: lock, skip / resume / retry decision, tools/train.py subprocess
    launch.py  local thread pool or submitit (slurm / local) -- one code path
    live.py    rich live view (plain log when not a terminal); ends with the sweep's leaderboard
    read_run.py     one run folder -> RunInfo (never raises)
    leaderboard.py  runs -> Board (groups over seeds, best-first, markdown / csv / plots)
    print_board.py  the Board in the terminal, no name broken at any width
    paper.py        a sweep file's PAPER numbers beside the rows, "direction holds?"
    curves.py       a sweep folder's curves.png; the loss-vs-metric rank correlation (--track)
"""
from zoo.sweeps.load import build_sweep
from zoo.sweeps.spec import Point, Sweep, chain, fixed, parse_axis, product, run_names, split_values, sweep, zip

__all__ = ["Point", "Sweep", "build_sweep", "chain", "fixed", "parse_axis", "product", "run_names",
           "split_values", "sweep", "zip"]
