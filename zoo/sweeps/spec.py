"""What a sweep is: a base config, axes of gin bindings, seeds -> named points.

An axis is a list of *assignments* (dicts {binding: value}); combinators build bigger axes,
in the spirit of big_vision's ``get_hyper``:

    sweep("train.kernel", ["@laplace", "@gaussian"])    -> [{kernel: laplace}, {kernel: gaussian}]
    product(a, b)   every assignment of a with every one of b (a outermost)
    zip(a, b)       pairwise, same lengths
    chain(a, b)     a then b (the key sets may differ)
    fixed(key, v)   one assignment

A value that is a ``str`` is gin text (``"@laplace"``, ``"'relu'"``, ``"(1.0, 4.0)"``); any
other value is written with ``repr`` (``(1.0, 4.0)`` -> ``(1.0, 4.0)``, ``True`` -> ``True``).
Each point becomes ``--gin_param 'key = value'`` bindings (plus ``train.seed``) for
tools/train.py; gin files are never edited.
"""
from __future__ import annotations

import builtins
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

Assignment = dict  # {binding key: gin text}
SEED_KEY = "train.seed"
MAX_VALUE = 24   # longest value kept verbatim in a run name
MAX_NAME = 100   # longest run name


def _text(value) -> str:
    return value if isinstance(value, str) else repr(value)


def sweep(key: str, values) -> list[Assignment]:
    """One binding over ``values``: [{key: v} for v in values]."""
    values = list(values)
    if not values:
        raise ValueError(f"sweep('{key}', ...): no values")
    return [{key: _text(v)} for v in values]


def fixed(key: str, value) -> list[Assignment]:
    """One binding with one value (an axis of length 1)."""
    return [{key: _text(value)}]


def product(*axes: list[Assignment]) -> list[Assignment]:
    """Cartesian product; the first axis varies slowest."""
    return [{k: v for part in combo for k, v in part.items()}
            for combo in itertools.product(*axes)]


def zip(*axes: list[Assignment]) -> list[Assignment]:  # noqa: A001 -- the sweep vocabulary
    """Pairwise combination of axes of equal length."""
    lengths = {len(a) for a in axes}
    if len(lengths) > 1:
        raise ValueError(f"zip: axes have different lengths {sorted(lengths)}")
    return [{k: v for part in combo for k, v in part.items()} for combo in builtins.zip(*axes)]


def chain(*axes: list[Assignment]) -> list[Assignment]:
    """Concatenation of axes."""
    return [dict(a) for axis in axes for a in axis]


def split_values(text: str) -> list[str]:
    """Split on commas outside (), [], {} and quotes: '(1, 2),(3, 4)' -> ['(1, 2)', '(3, 4)']."""
    out, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if depth or quote:
        raise ValueError(f"unbalanced brackets or quotes in axis values '{text}'")
    out.append(cur.strip())
    if any(not v for v in out):
        raise ValueError(f"empty value in axis values '{text}'")
    return out


def parse_axis(spec: str) -> list[Assignment]:
    """'train.kernel=@laplace,@gaussian' -> sweep('train.kernel', ['@laplace', '@gaussian'])."""
    key, sep, values = spec.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[\w./]+", key):
        raise ValueError(f"--axis '{spec}': expected 'binding=value1,value2', "
                         "e.g. 'train.kernel=@laplace,@gaussian'")
    return sweep(key, split_values(values))


@dataclass
class Point:
    """One run of a sweep: its bindings (ordered), seed, name and run folder."""

    bindings: dict
    seed: int | None
    name: str = ""
    workdir: Path | None = None

    def params(self) -> list[str]:
        out = [f"{k} = {v}" for k, v in self.bindings.items()]
        return out + ([f"{SEED_KEY} = {self.seed}"] if self.seed is not None else [])


@dataclass
class Sweep:
    """A base config (gin files + fixed bindings), axes and seeds, run under root/name/."""

    name: str
    gin_files: list[str]
    params: list[str] = field(default_factory=list)
    axes: list[Assignment] = field(default_factory=lambda: [{}])
    seeds: list[int] | None = field(default_factory=lambda: [0])

    def points(self, root: Path) -> list[Point]:
        seeds = self.seeds or [None]
        if any(SEED_KEY in a for a in self.axes):
            seeds = [None]  # the axes bind the seed themselves
        pts = [Point(dict(a), s) for a in self.axes for s in seeds]
        for p, name in builtins.zip(pts, run_names(pts)):
            p.name, p.workdir = name, Path(root) / self.name / name
        return pts


def _hash(text: str, n: int = 6) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def slug(value: str) -> str:
    """Filesystem-safe short form of a gin value: '@exponential()' -> 'exponential'."""
    s = value.strip().replace("@", "").replace("()", "")
    s = re.sub(r"[^A-Za-z0-9.+]+", "-", s).strip("-.") or "x"
    if len(s) > MAX_VALUE:
        s = s[: MAX_VALUE - 8].rstrip("-.") + "-" + _hash(value)
    return s


def short_labels(keys: list[str]) -> dict[str, str]:
    """Binding key -> short label: its last part, or the whole key where that is ambiguous."""
    last = [k.split(".")[-1].split("/")[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else slug(k)) for k, s in builtins.zip(keys, last)}


def varying_keys(assignments: list[dict]) -> list[str]:
    """Keys (first-seen order) whose value differs between assignments or is missing in some."""
    keys = list(dict.fromkeys(k for a in assignments for k in a))
    return [k for k in keys if len({a.get(k) for a in assignments}) > 1]


def run_names(points: list[Point]) -> list[str]:
    """Names from the bindings that differ between points, plus s<seed>; unique and stable.

    'kernel-laplace_temperatures-1.0-4.0_s0'; long values are cut with a hash; names that
    still collide (values equal after slugging) get a hash of the full bindings.
    """
    keys = [k for k in varying_keys([p.bindings for p in points]) if k != SEED_KEY]
    labels = short_labels(keys)
    names = []
    for p in points:
        parts = [f"{labels[k]}-{slug(p.bindings[k])}" for k in keys if k in p.bindings]
        if p.seed is not None:
            parts.append(f"s{p.seed}")
        elif SEED_KEY in p.bindings:
            parts.append(f"s{slug(p.bindings[SEED_KEY])}")
        name = "_".join(parts) or "run"
        if len(name) > MAX_NAME:
            name = name[: MAX_NAME - 7] + "-" + _hash(str(p.params()))
        names.append(name)
    counts = {n: names.count(n) for n in names}
    names = [n if counts[n] == 1 else f"{n}-{_hash(str(p.params()))}" for n, p in builtins.zip(names, points)]
    if len(set(names)) != len(names):
        raise ValueError("sweep has duplicate points (identical bindings and seed)")
    return names
