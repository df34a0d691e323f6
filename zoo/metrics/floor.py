"""The data-vs-data floor of a dataset's metrics: what a perfect generator would score.

A generator whose samples were exact draws of the training distribution would still score a
non-zero FD (and precision / recall below 1) against a finite held-out set: both sides are
finite samples. The floor measures that, exactly as a run is measured:

    floor_s = measure(dataset, real_s, held_out(n), labels)      s = 1 .. S independent draws
    real_s  = n training rows with the evaluation labels (i mod K), drawn from seed 10^5 + s

with ``zoo.run.evaluation.measure`` (the committed evaluator's FD, feature precision / recall,
class accuracy / coverage and the pixel energy distance, or the point-cloud metrics), the same
n as the run's samples (``train.eval_samples``) and the same held-out rows. A finite dataset
(digits: 1438 training rows) repeats rows in a draw of n = 4096; a repeated row has a k-NN
radius of 0 and would deflate precision / recall (0.53 instead of 0.84), so repeats are dropped
(``distinct``: the floor of digits is measured on its 1438 distinct rows). Reported as
mean and std over the S draws: an FD within a few times the floor is as close to the data as
n samples can show (issue 15 asks FD <= 10x floor on shapes, 2x on digits).
"""
from __future__ import annotations

import math

import torch

FLOOR_SEED = 10**5  # draws of real rows for the floor; far from training and eval seeds


def real_draw(dataset, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(rows [n, D] of training data, labels [n] = i mod K or None) from ``seed`` only."""
    g = torch.Generator().manual_seed(FLOOR_SEED + int(seed))
    k = getattr(dataset, "num_classes", None)
    if not k:
        return dataset.sample(n, g), None
    labels = torch.arange(n) % k
    return distinct(dataset.sample_class(labels, g), labels)


def distinct(rows: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows [m, D], labels [m]): the first occurrence of every distinct row, in order."""
    _, inverse = torch.unique(rows, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(rows), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(len(rows)), reduce="amin")
    keep = first.sort().values
    return rows[keep], labels[keep]


def data_floor(dataset, n: int, seeds=(0, 1, 2)) -> dict[str, tuple[float, float]]:
    """{metric: (mean, std over seeds)} of real draws of n rows against ``held_out(n)``;
    ``rows``: the distinct rows a draw kept (n for an unlimited dataset)."""
    from zoo.run.evaluation import measure  # zoo.run imports zoo.metrics: no cycle at import

    if n < 2 or not seeds:
        raise ValueError(f"data_floor needs n >= 2 and at least one seed, got n={n}, "
                         f"seeds={seeds}")
    held_out = dataset.held_out(n)
    draws = [real_draw(dataset, n, s) for s in seeds]
    runs = [{**measure(dataset, rows, held_out, labels), "rows": float(len(rows))}
            for rows, labels in draws]
    out = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)
        out[key] = (mean, math.sqrt(var))
    return out

