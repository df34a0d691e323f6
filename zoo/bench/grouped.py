"""``grouped``: the drift loss on many small groups (image training) against a straight port.

    drift-zoo bench grouped --threads 1 --markdown results/bench_grouped.md

Image training drifts many small groups at once: classes x locations of every feature set, B
groups of N generated, P positive and Q extra negative samples of D channels (the generated
batch is among the negatives, self-pairs masked). Rows ``issue`` are the shapes of issue 18,
``shapes`` the largest feature sets of one gin/experiments/shapes.gin step with the random_conv
encoder (6 classes x 16 / 16 images, sets [L, C] = 256x16, 64x16, 16x32, 1x3072), ``imagenet``
the ImageNet ablation recipe (gin/experiments/imagenet_latent_b.gin: 64 generated, 64 positive,
32 unconditional per class) shrunk to 4 classes and its encoder's [L, C] = 64x64, 16x256,
1x512, and one large group (the streaming field's home). Rows ``step`` drift a whole step's
35 feature sets (STEP_SETS: the random_conv sets of the shapes step, 6 classes x 16 generated /
16 positive, without and with 8 extra negatives per class, every set at its own scale) through
``zoo.features.feature_drift_loss``; there the port runs the release's loop (one ``port_goal``
per set, ``port_step``) and ``per set`` is our default path with one call per set, i.e. without
batching the sets of equal shape into one call.

Paths, all ``drift_loss(x, pos, neg, field=meanshift, kernel=laplace)`` at the temperatures
0.02, 0.05, 0.2 (goal, scale, loss): ``port`` is a straight port of the release's arithmetic
written here in plain torch (``port_goal``: one cdist, then per temperature a row and a column
softmax, their product floored and square-rooted, two row sums, one einsum); ``default`` is
``zoo.drift`` as configured by default (``block_size="auto"``); ``per-temp`` the reference
path (``block_size=None``: one dense field call per temperature); ``split`` the default path
with the split field; ``streaming`` ``block_size=512``. Rounds interleave every path in one
process (each round times each path once, after one warm-up call each); the table shows the
median over rounds of the process's CPU time (``--clock cpu``, the default: on a shared machine
waiting for a core is not counted; run with ``--threads 1``) or of wall time (``--clock wall``), ``speed-up`` = port / default and ``err`` = max|goal - goal_port| /
max|goal_port| of the default path (of the per-group loss for ``step`` rows).
"""
from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
from rich.console import Console

import zoo
from zoo.drift import drift
from zoo.features import feature_drift_loss

from zoo.bench.common import Report

NAME, HELP = "grouped", "drift on many small groups: straight port vs dense, split, streaming"

SHAPES = {  # label: (B, N, P, Q, D)
    "issue": [(64, 64, 64, 16, 256), (128, 64, 64, 32, 64), (512, 16, 16, 0, 512),
              (8, 256, 256, 32, 128)],
    "shapes": [(1536, 16, 16, 0, 16), (384, 16, 16, 0, 16), (96, 16, 16, 0, 32),
               (6, 16, 16, 0, 3072)],
    "imagenet": [(256, 64, 64, 32, 64), (64, 64, 64, 32, 256), (4, 64, 64, 32, 512)],
    "large": [(1, 2048, 2048, 0, 64)],
    "step": [(6, 16, 16, 0, "35 sets"), (6, 16, 16, 8, "35 sets")],
}
TEMPS = (0.02, 0.05, 0.2)
STEP_SETS = {  # [L, C]: count -- the 35 random_conv feature sets of one shapes.gin step
    (256, 16): 2, (64, 16): 4, (64, 32): 1, (16, 16): 4, (16, 32): 2, (16, 64): 1, (4, 32): 2,
    (4, 64): 2, (4, 128): 1, (1, 3): 1, (1, 16): 4, (1, 32): 2, (1, 64): 4, (1, 128): 4,
    (1, 3072): 1,
}


def add_arguments(p) -> None:
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median over them)")
    p.add_argument("--only", default="", help="comma-separated labels of SHAPES to run (default all)")
    p.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                   help="cpu: process CPU seconds (robust on a shared, loaded machine); wall")


def port_cdist(x, y):
    """||x - y|| by the Gram expansion, squared distances floored at 1e-8 ([B,N,D],[B,M,D])."""
    sq = (x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :] - 2 * torch.einsum("bnd,bmd->bnm", x, y)
    return sq.clamp(min=1e-8).sqrt()


@torch.no_grad()
def port_goal(x, pos, neg, temps=TEMPS):
    """The release's goal in scaled coordinates and the divisor, step by step in plain torch."""
    b, n, d = x.shape
    y = torch.cat([x, neg, pos], 1)
    w = x.new_ones(b, y.shape[1])
    dist = port_cdist(x, y)
    scale = (dist * w[:, None, :]).mean() / w.mean()
    c = (scale / d**0.5).clamp(min=1e-3)
    xs, ys = x / c, y / c
    normed = dist / scale.clamp(min=1e-3) + 100.0 * F.pad(torch.eye(n), (0, y.shape[1] - n))
    force = torch.zeros_like(xs)
    split = n + neg.shape[1]
    for r in temps:
        logits = -normed / r
        a = torch.sqrt((F.softmax(logits, -1) * F.softmax(logits, -2)).clamp(min=1e-6)) * w[:, None]
        a_neg, a_pos = a[..., :split], a[..., split:]
        coef = torch.cat([-a_neg * a_pos.sum(-1, keepdim=True), a_pos * a_neg.sum(-1, keepdim=True)], 2)
        v = torch.einsum("bnm,bmd->bnd", coef, ys) - coef.sum(-1)[..., None] * xs
        force = force + v / (v**2).mean().clamp(min=1e-8).sqrt()
    return xs + force, c


def inputs(shape, seed):
    """x [B,N,D], pos [B,P,D], neg [B,Q,D] (Q may be 0): groups of shifted Gaussians."""
    b, n, p, q, d = shape
    g = torch.Generator().manual_seed(seed)
    centre = torch.randn(b, 1, d, generator=g)
    draw = lambda m, shift: centre + shift + torch.randn(b, m, d, generator=g)
    return draw(n, 0.0), draw(p, 0.5), draw(q, 0.2)


def step_inputs(shape, seed):
    """gen, pos, neg {set: [B, N|P|Q, L, C]} for every set of STEP_SETS, each at its own scale."""
    b, n, p, q, _ = shape
    g = torch.Generator().manual_seed(seed)
    sets = [(f"{l}x{c}/{i}", l, c) for (l, c), k in STEP_SETS.items() for i in range(k)]
    feats = {}
    for name, l, c in sets:
        size = torch.randn((), generator=g).exp()
        x, pos, neg = inputs((b * l, n, p, q, c), int(torch.randint(1 << 30, (), generator=g)))
        unfold = lambda t: t.view(b, l, t.shape[1], c).transpose(1, 2) * size  # noqa: E731
        feats[name] = (unfold(x), unfold(pos), unfold(neg))
    return tuple({k: v[i] for k, v in feats.items()} for i in range(3))


def port_step(gen, pos, neg) -> torch.Tensor:
    """The release's feature loss: one ``port_goal`` per set on its (group, location) pairs,
    the loss averaged over locations and summed over sets -> [B]."""
    fold = lambda t: t.transpose(1, 2).flatten(0, 1)  # noqa: E731  [B, N, L, C] -> [B*L, N, C]
    total = 0
    for k, x in gen.items():
        xf = fold(x)
        goal, c = port_goal(xf, fold(pos[k]), fold(neg[k]))
        total = total + ((xf / c - goal) ** 2).mean(dim=(-1, -2)).view(x.shape[0], -1).mean(1)
    return total


def step_paths(gen, pos, neg):
    """The paths of ``paths`` for a whole step's feature sets (``zoo.features``); ``per set`` is
    the default path with one call per set (no batching of equal shapes)."""
    ms, sp, lap = zoo.fields.meanshift, zoo.fields.split, zoo.kernels.laplace
    neg_or_none = neg if next(iter(neg.values())).shape[1] else None
    ours = lambda **kw: (lambda: feature_drift_loss(gen, pos, neg_or_none, kernel=lap, **kw)[0])

    def per_set():
        return sum(feature_drift_loss({k: gen[k]}, {k: pos[k]},
                                      None if neg_or_none is None else {k: neg[k]},
                                      field=ms, kernel=lap)[0] for k in gen)

    return {"port": lambda: port_step(gen, pos, neg), "default": ours(field=ms),
            "per set": per_set, "per-temp": ours(field=ms, block_size=None),
            "split": ours(field=sp), "streaming": ours(field=ms, block_size=512)}


def paths(x, pos, neg):
    """{name: callable -> per-group loss} for every path of the module docstring."""
    ms, sp, lap = zoo.fields.meanshift, zoo.fields.split, zoo.kernels.laplace
    neg_or_none = neg if neg.shape[1] else None
    ours = lambda **kw: (lambda: zoo.drift.drift_loss(x, pos, neg_or_none, kernel=lap, **kw)[0])

    def port():
        goal, c = port_goal(x, pos, neg)
        return ((x / c - goal) ** 2).mean(dim=(-1, -2))

    return {"port": port, "default": ours(field=ms), "per set": None,
            "per-temp": ours(field=ms, block_size=None), "split": ours(field=sp),
            "streaming": ours(field=ms, block_size=512)}


def interleaved(fns: dict, rounds: int, clock=time.process_time) -> dict:
    """Median seconds of every callable, timed once per round in turn after one warm-up each."""
    fns = {k: fn for k, fn in fns.items() if fn is not None}
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def row(label, shape, args) -> list[str]:
    """One table row; err compares the default path's goal (per-group loss for a step) with
    the port's."""
    if label == "step":
        gen, pos, neg = step_inputs(shape, args.seed)
        fns = step_paths(gen, pos, neg)
        ours, theirs = fns["default"]().detach(), port_step(gen, pos, neg)
    else:
        x, pos, neg = inputs(shape, args.seed)
        fns = paths(x, pos, neg)
        theirs = port_goal(x, pos, neg)[0]
        ours = drift(x, pos, neg if neg.shape[1] else None, field=zoo.fields.meanshift,
                     kernel=zoo.kernels.laplace)[0]
    err = ((ours - theirs).abs().max() / theirs.abs().max()).item()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    t = interleaved(fns, args.rounds, clock)
    ms = lambda k: f"{1e3 * t[k]:.1f} ms" if k in t else "-"  # noqa: E731
    return [label, ", ".join(map(str, shape)), *(ms(k) for k in fns),
            f"{t['port'] / t['default']:.2f}x", f"{err:.1e}"]


def run(args) -> Report:
    console = Console(stderr=True)
    only = set(filter(None, args.only.split(",")))
    report = Report(f"drift_loss on grouped shapes (meanshift, laplace, temperatures "
                    f"{', '.join(map(str, TEMPS))}): straight port vs zoo.drift",
                    ["set", "B, N, P, Q, D", "port", "default", "per set", "per-temp", "split",
                     "streaming", "speed-up", "err"])
    for label, shapes in SHAPES.items():
        if only and label not in only:
            continue
        for shape in shapes:
            with console.status(f"{label} {shape}"):
                report.rows.append(row(label, shape, args))
    report.notes = [f"Median {args.clock} time of {args.rounds} interleaved rounds (one warm-up call per path), "
                    f"seed {args.seed}. speed-up = port / default; err = max|goal - goal_port| / "
                    "max|goal_port| of the default path (of the per-group loss for `step`). "
                    "See `drift-zoo bench grouped --help`."]
    return report
