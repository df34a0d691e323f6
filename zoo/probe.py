"""Is it the field or the generator? Probes of a drift field at a generator's samples.

    displacement  d(x) = target(x) - x, target = drift_target(x, data batch)   (summed over
                  temperatures when they are kept apart, ``combine='per_temperature'``)
    agreement     mean_n cos(d_1(x_n), d_2(x_n))   d_1, d_2 against two independent data batches:
                  near 1 means the field is a property of p and q, not of the batch noise
    to_mode       mean over off-mode samples of cos(d(x_n), m*(x_n) - x_n), m* the nearest mode
                  of a Gaussian mixture (off-mode: farther than 3 sigma from every mode)
    particles     x <- x + lr d(x) for ``steps`` steps, fresh data every step, starting at the
                  generator's samples: what the field alone reaches, with no network to follow it

If the particles score well where the samples do not, the generator fails to follow the field
(capacity, optimisation, one step per target); if they do not, the field itself is the limit.
Source: the haze analysis of the 5x5 grid (README, "Toy defaults"). Shapes: x [N, D].
"""
from __future__ import annotations

import torch

from zoo.drift import drift_target
from zoo.metrics import evaluate


def displacement(x: torch.Tensor, pos: torch.Tensor, **drift_kw) -> torch.Tensor:
    """d(x) = target - x for samples x [N, D] against data pos [P, D] -> [N, D]."""
    target, _ = drift_target(x[None], pos[None], **drift_kw)
    d = target - x[None] if target.dim() == 3 else (target - x[None, None]).sum(0)
    return d[0]


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12)


def field_checks(x, dataset, gen: torch.Generator, **drift_kw) -> tuple[dict, torch.Tensor]:
    """(agreement and, for mixtures, off_mode share and to_mode cosine; d_1 [N, D]) at x [N, D]."""
    n = x.shape[0]
    d1 = displacement(x, dataset.sample(n, gen), **drift_kw)
    d2 = displacement(x, dataset.sample(n, gen), **drift_kw)
    out = {"agreement": _cos(d1, d2).mean().item()}
    modes = dataset.modes
    if modes is not None:
        dist = torch.cdist(x, modes)
        near, idx = dist.min(1)
        off = near > 3 * dataset.mode_std
        out["off_mode"] = off.float().mean().item()
        if off.any():
            out["to_mode"] = _cos(d1[off], modes[idx[off]] - x[off]).mean().item()
    return out, d1


def particles(x, dataset, gen: torch.Generator, steps: int, lr: float = 1.0,
              **drift_kw) -> torch.Tensor:
    """Move x [N, D] by the field alone for ``steps`` steps (fresh data each step) -> [N, D]."""
    if steps < 0 or not lr > 0:
        raise ValueError(f"particles need steps >= 0 and lr > 0, got steps={steps}, lr={lr}")
    x = x.clone()
    for _ in range(steps):
        x = x + lr * displacement(x, dataset.sample(x.shape[0], gen), **drift_kw)
    return x


def probe(x, dataset, *, steps: int = 200, lr: float = 1.0, eval_num: int = 4096,
          seed: int = 0, **drift_kw) -> dict[str, dict[str, float]]:
    """{'samples': metrics + field checks, 'particles': metrics, 'moved': [N, D] particles,
    'displacement': [N, D] field at x} for samples x [N, D].

    drift_kw go to ``drift_target`` (field, kernel, temperatures, scaling, combine).
    """
    gen = torch.Generator().manual_seed(seed)
    data = dataset.held_out(eval_num)
    extra = {"modes": dataset.modes, "mode_std": dataset.mode_std}
    moved = particles(x, dataset, gen, steps, lr, **drift_kw)
    checks, disp = field_checks(x, dataset, gen, **drift_kw)
    return {"samples": {**evaluate(x, data, **extra), **checks},
            "particles": evaluate(moved, data, **extra), "moved": moved, "displacement": disp}
