"""Reading one run folder for the leaderboard: never raises, whatever the folder holds.

A run folder is any folder holding ``config.gin`` and/or ``summary.json`` (found recursively
by ``find_runs``). ``read_run`` gives its status, components (from summary.json, else from the
``train.<kind>`` bindings of config.gin, includes followed), bindings, seed and final metrics:
only finite numbers are metrics (a JSON ``true`` is not the score 1.0; a string is dropped),
plus the run statistics ``RUN_STATS`` of summary.json. A truncated summary, garbage in
metrics.jsonl or undecodable bytes make the run ``corrupt`` with a note.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from zoo.gin_statements import statements
from zoo.sweeps.live import tail
from zoo.sweeps.spec import SEED_KEY

ROOT = Path(__file__).resolve().parents[2]  # the repository: includes are relative to it
KINDS = ("generator", "field", "kernel", "negatives", "encoder", "dataset")
RUN_FILES = ("config.gin", "summary.json")
RUN_STATS = {"steps_per_s": "max", "wall_time": "min", "cpu_time": "min"}  # summary.json fields shown as metrics


@dataclass
class RunInfo:
    """What the leaderboard knows about one run folder."""

    path: Path
    status: str = "corrupt"
    components: dict = field(default_factory=dict)
    bindings: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    seed: object = None
    note: str = ""


def _text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


def parse_bindings(text: str, depth: int = 0) -> dict[str, str]:
    """{key: value text} of gin text, later bindings winning; ``include`` files followed."""
    out: dict[str, str] = {}
    for st in statements(text):
        inc = re.match(r"""include\s+['"](.+)['"]$""", st)
        if inc and depth < 8:
            sub = _text(ROOT / inc.group(1)) or _text(Path(inc.group(1)))
            out.update(parse_bindings(sub or "", depth + 1))
            continue
        m = re.match(r"([\w./]+)\s*=\s*(.+)$", st)
        if m:
            out[m.group(1)] = re.sub(r"\s+", " ", m.group(2).strip())
    return out


def component_name(value) -> str:
    """'@kernel.laplace()' -> 'laplace'."""
    return str(value).strip().lstrip("@").removesuffix("()").split(".")[-1]


def find_runs(roots) -> list[Path]:
    """Run folders below each root (a root may itself be a run folder), sorted."""
    found = []
    for root in map(Path, roots):
        for here, dirs, files in os.walk(root):
            if any(f in files for f in RUN_FILES):
                found.append(Path(here))
                dirs[:] = []
            else:
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return sorted(set(found))


def _summary(path: Path) -> tuple[dict | None, str]:
    """(summary dict or None when absent, problem); {} with a note when unreadable."""
    raw = _text(path / "summary.json")
    if raw is None:
        return None, ""
    try:
        data = json.loads(raw)
    except ValueError as err:
        return {}, f"summary.json: {str(err)[:50]}"
    return (data, "") if isinstance(data, dict) else ({}, "summary.json is not an object")


def read_run(path: Path) -> RunInfo:
    """A RunInfo for ``path``; never raises (an unreadable run is 'corrupt' with a note)."""
    info = RunInfo(Path(path))
    config = _text(info.path / "config.gin")
    info.bindings = parse_bindings(config) if config else {}
    summary, problem = _summary(info.path)
    for kind in KINDS:
        value = (summary or {}).get(kind) or info.bindings.get(f"train.{kind}")
        if value:
            info.components[kind] = component_name(value)
    info.seed = (summary or {}).get("seed", info.bindings.get(SEED_KEY, 0))
    try:
        info.seed = int(info.seed)
    except (TypeError, ValueError):
        pass
    if problem:
        info.note = problem
        return info
    summary = summary or {}
    info.status = str(summary.get("status") or ("started" if not summary else "corrupt"))
    metrics = summary.get("final_metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    metrics = {**metrics, **{k: summary.get(k) for k in RUN_STATS}}  # speed from the summary
    info.metrics = {k: float(v) for k, v in metrics.items() if _number(v)}
    if info.status == "finished" and not set(info.metrics) - set(RUN_STATS):
        info.status, info.note = "corrupt", "finished without final metrics"
    elif info.status in ("running", "interrupted", "started"):
        info.note = f"step {tail(info.path, 'loss').get('step') or 0}/{summary.get('steps', '?')}"
    elif info.status == "failed":
        info.note = str(summary.get("error") or "")[:80]
    return info


def _number(value) -> bool:
    """A finite int or float; booleans (``true`` is not the score 1.0) and strings are not."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
