"""Reference values from a paper beside the leaderboard's rows, and whether the direction holds.

A sweep file (gin/sweeps/paper_*.py) may declare, beside its axes:

    PAPER = {"attraction=1.0, repulsion=1.0": 8.46,    # row filter -> the paper's number
             "attraction=1.5, repulsion=1.0": 41.05}
    PAPER_LABEL = "paper FID"                           # the column's title (default "paper")
    PAPER_GOAL = "min"                                  # the paper's metric: lower is better
    PAPER_METRIC = "energy_distance"                    # ours, compared with it
    PAPER_BASELINE = "attraction=1.0, repulsion=1.0"    # the row the others are compared to

A key is a comma list of the leaderboard's ``--filter`` terms (``column=value``, globs), all
of which a row must match; a row takes the first key it matches. A value is a number, or text
for a row the paper reports without one ("no reasonable results"): shown as is, and read as
worse than the baseline (the paper reports it failing). With a baseline, each other
row gets ``direction holds?``: the paper says the row is better or worse than the baseline
(sign of paper_row - paper_base, by PAPER_GOAL) and ours says the same or not (sign of
ours_row - ours_base for PAPER_METRIC, by its METRIC_GOAL):

    "yes" / "no"                 the two signs agree / disagree
    "..., within std"            |ours_row - ours_base| <= std_row + std_base (seeds): no claim
    "baseline"                   the baseline row; "-" where a number is missing
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zoo.sweeps.spec import split_values

GOALS = ("min", "max")


@dataclass
class PaperRef:
    """The reference of one sweep: {row filter: number}, its label and goal, our metric."""

    values: dict
    label: str = "paper"
    goal: str = "min"
    metric: str | None = None
    baseline: str | None = None
    source: str = ""
    terms: dict = field(init=False)

    def __post_init__(self):
        if self.goal not in GOALS:
            raise ValueError(f"PAPER_GOAL must be one of {GOALS}, got '{self.goal}' "
                             f"({self.source})")
        if self.baseline is not None and self.baseline not in self.values:
            raise ValueError(f"PAPER_BASELINE '{self.baseline}' is not a key of PAPER "
                             f"({self.source}); "
                             f"keys are {list(self.values)}")
        if self.baseline is not None and isinstance(self.values[self.baseline], str):
            raise ValueError(f"PAPER_BASELINE '{self.baseline}' must have a number ({self.source})")
        self.terms = {key: split_values(key) for key in self.values}


def load_reference(path) -> PaperRef:
    """The PAPER* constants of the sweep file ``path``; ValueError when it declares none."""
    from zoo.sweeps.load import _module

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--paper: sweep file '{path}' not found; give gin/sweeps/<name>.py")
    mod = _module(path)
    values = getattr(mod, "PAPER", None)
    if not values:
        raise ValueError(f"--paper: {path} declares no PAPER = {{row filter: number}}")
    return PaperRef(dict(values), getattr(mod, "PAPER_LABEL", "paper"),
                    getattr(mod, "PAPER_GOAL", "min"), getattr(mod, "PAPER_METRIC", None),
                    getattr(mod, "PAPER_BASELINE", None), str(path))


def reference_for(board, group) -> str | None:
    """The first PAPER key whose every term matches the group's runs (None if none does)."""
    run = group["runs"][0]
    return next((key for key, terms in board.paper.terms.items()
                 if all(board._match(run, t) for t in terms)), None)


def _sign(diff: float, goal: str) -> int:
    """+1 when the difference means worse under ``goal``, -1 when better, 0 when equal."""
    worse = diff > 0 if goal == "min" else diff < 0
    return 0 if diff == 0 else (1 if worse else -1)


def direction(ref: PaperRef, key: str | None, mine, theirs) -> str:
    """'yes' / 'no' (+ ', within std'), 'baseline' or '-' for the row of PAPER key ``key``
    whose stat (mean, std, n) of ``ref.metric`` is ``mine``; ``theirs`` is the baseline's."""
    if key is None or ref.metric is None or ref.baseline is None:
        return "-"
    if key == ref.baseline:
        return "baseline"
    if mine is None or theirs is None:
        return "-"
    from zoo.sweeps.leaderboard import METRIC_GOAL

    value, base_value = ref.values[key], ref.values[ref.baseline]
    paper = 1 if isinstance(value, str) else _sign(value - base_value, ref.goal)
    ours = _sign(mine[0] - theirs[0], METRIC_GOAL.get(ref.metric, "min"))
    word = "yes" if paper == ours else "no"
    return word + (", within std" if abs(mine[0] - theirs[0]) <= mine[1] + theirs[1] else "")


def paper_cells(board) -> list[list[str]]:
    """[paper number, direction] per group of ``board`` (in the board's order)."""
    ref = board.paper
    keys = [reference_for(board, g) for g in board.groups]
    base = next((g for g, k in zip(board.groups, keys) if k == ref.baseline), None)
    theirs = None if base is None else base["stats"].get(ref.metric)
    out = []
    for g, key in zip(board.groups, keys):
        value = None if key is None else ref.values[key]
        number = "-" if key is None else value if isinstance(value, str) else f"{value:g}"
        mine = g["stats"].get(ref.metric)
        out.append([number] + ([direction(ref, key, mine, theirs)] if ref.baseline else []))
    return out


def paper_header(board) -> list[str]:
    ref = board.paper
    return [ref.label] + ([f"direction holds? ({ref.metric})"] if ref.baseline else [])


def paper_notes(board) -> list[str]:
    """A footer line per PAPER key that matches no row (a typo must not pass silently); none
    under --filter, where a key the filter leaves out cannot be told from a typo."""
    if board.filters:
        return []
    used = {reference_for(board, g) for g in board.groups}
    return [f"paper row '{key}' matches no run of this board" for key in board.paper.values
            if key not in used]
