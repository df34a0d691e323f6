"""One call for every point-cloud metric of a run: samples x [N, D] against data y [M, D].

    evaluate(x, y)                     -> energy_distance, mmd, sliced_w2, precision, recall
    evaluate(x, y, modes, mode_std)    -> the above + high_quality, modes_covered, mode_kl
    evaluate(x, y, modes, mode_std, labels=c)  -> the above + class_accuracy (class c = mode c)

Definitions and sources are in ``point_cloud.py`` and ``modes.py``. Energy distance, MMD^2
and precision/recall share three streamed passes over the pairwise distances, so 10k x 10k
in 2-D costs a few seconds on two CPU cores. ``METRIC_GOAL`` says which direction is better.
"""
from __future__ import annotations

import math

from zoo.metrics.modes import class_accuracy, mode_metrics
from zoo.metrics.point_cloud import point_cloud_metrics, sliced_w2

METRIC_GOAL: dict[str, str] = {
    "energy_distance": "min",
    "mmd": "min",
    "sliced_w2": "min",
    "precision": "max",
    "recall": "max",
    "high_quality": "max",
    "modes_covered": "max",
    "mode_kl": "min",
    "class_accuracy": "max",
    # image metrics (zoo.metrics.image, in evaluator features; fid: clean-fid's Inception)
    "fd": "min",
    "kid": "min",
    "feature_precision": "max",
    "feature_recall": "max",
    "class_coverage": "max",
    "classes_covered": "max",
    "fid": "min",
    "png_fd": "min",  # fd of PNG files on disk (drift-zoo fid --evaluator --record)
}


def evaluate(samples, data, modes=None, mode_std: float | None = None, *, k: int = 3,
             num_projections: int = 256, seed: int = 0, labels=None) -> dict[str, float]:
    """Flat dict of float metrics (keys of ``METRIC_GOAL``; mode keys only with ``modes``,
    ``class_accuracy`` only with ``modes`` and the samples' class ``labels``).

    samples [N, D], data [M, D] (N, M > k); modes [K, D] with a common std ``mode_std``;
    labels [N] int64 (class c = mode c) or None.
    """
    if modes is not None and mode_std is None:
        raise ValueError("evaluate: modes given without mode_std; pass the mixture's std")
    out = point_cloud_metrics(samples, data, k=k)
    out["sliced_w2"] = sliced_w2(samples, data, num_projections=num_projections, seed=seed)
    if modes is not None:
        out.update(mode_metrics(samples, modes, mode_std))
        if labels is not None:
            out["class_accuracy"] = class_accuracy(samples, labels, modes, mode_std)
    out = {key: float(out[key]) for key in METRIC_GOAL if key in out}
    bad = [key for key, value in out.items() if not math.isfinite(value)]
    if bad:
        raise ValueError(f"evaluate: non-finite metrics {bad}")
    return out
