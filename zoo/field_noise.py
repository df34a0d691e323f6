"""Which term of a drift field moves samples along a cloud's support, and how noisy is it?

At q = p (the generated batch x and the positives both fresh draws of the data, P = N - 1 by
default as in training: x's own N - 1 other samples are its negatives), for each temperature
tau (in units of the mean distance s, as ``drift.scaling = 'official'``):

    V+ = field(x, pos, self_negatives=False)      attraction alone
    V  = field(x, pos)                            the field (self-pairs masked)
    V- = V+ - V                                   repulsion (exact for split)

projected on the dataset's ``frame(x) -> (z, inward, across)`` (``graded.thin_pinwheel``: z the
position along the arm in radial std, inward the unit tangent toward the arm's dense middle)
and binned by |z|. Per bin: the mean inward component (+- its standard error over all samples
of ``reps`` batches), its RMS and the RMS across. A field with no bias has mean ~0; its RMS is
the per-sample noise the generator is asked to follow.

``particles_from_data`` moves fresh data draws by the whole drift (``zoo.probe.particles``,
fresh positives every step) and reports the share of points beyond |z| > 2 (data: ~4.6%):
whether the field alone drains the thin ends. Shapes: x [N, 2].
"""
from __future__ import annotations

import torch

from zoo.drift import kernel_at
from zoo.probe import particles
from zoo.scale import feature_scale

BINS = ((0.0, 1.0), (1.0, 2.0), (2.0, float("inf")))


def _stats(v: torch.Tensor, inward: torch.Tensor, across: torch.Tensor, z: torch.Tensor) -> list:
    """[(bin, mean inward, its standard error, rms inward, rms across)] for V [n, 2]."""
    a, c = (v * inward).sum(1), (v * across).sum(1)
    rows = []
    for lo, hi in BINS:
        m = (z.abs() >= lo) & (z.abs() < hi)
        if m.sum() < 2:
            continue
        rows.append(((lo, hi), a[m].mean().item(), (a[m].std() / m.sum().sqrt()).item(),
                     a[m].pow(2).mean().sqrt().item(), c[m].pow(2).mean().sqrt().item()))
    return rows


def field_terms(dataset, field, kernel, temperatures, *, n: int = 1024, positives: int | None = None,
                reps: int = 20, seed: int = 0) -> dict:
    """{(tau, term): [(bin, mean, se, rms_in, rms_across)]} for term in V+, V-, V at q = p."""
    if not hasattr(dataset, "frame"):
        raise ValueError(f"dataset '{dataset.name}' has no frame(x) -> (z, inward, across); "
                         f"use thin_pinwheel")
    gen, p = torch.Generator().manual_seed(seed), n - 1 if positives is None else positives
    out = {}
    for tau in temperatures:
        parts = {"V+": [], "V-": [], "V": []}
        frames = []
        for _ in range(reps):
            x, pos = dataset.sample(n, gen), dataset.sample(p, gen)
            k = kernel_at(kernel, tau * feature_scale(x[None], pos[None]).item())
            v_pos = field(x[None], pos[None], kernel=k, self_negatives=False)[0]
            v = field(x[None], pos[None], kernel=k)[0]
            for term, val in (("V+", v_pos), ("V-", v_pos - v), ("V", v)):
                parts[term].append(val)
            frames.append(dataset.frame(x))
        z, inward, across = (torch.cat(t) for t in zip(*frames))
        for term, vals in parts.items():
            out[(tau, term)] = _stats(torch.cat(vals), inward, across, z)
    return out


def particles_from_data(dataset, *, steps: int, n: int = 1024, lr: float = 1.0, seed: int = 0,
                        **drift_kw) -> list[tuple[int, float]]:
    """[(step, share of |z| > 2)] for data draws moved by the drift alone, every 10th step."""
    gen = torch.Generator().manual_seed(seed)
    x, out = dataset.sample(n, gen), []
    for step in range(0, steps + 1, 10):
        out.append((step, (dataset.frame(x)[0].abs() > 2).float().mean().item()))
        if step < steps:
            x = particles(x, dataset, gen, min(10, steps - step), lr, **drift_kw)
    return out
