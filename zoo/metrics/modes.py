"""Mode metrics for a mixture of K isotropic Gaussians N(mu_k, std^2 I) (the 2-D toys).

As in the mode-collapse literature (Srivastava et al. 2017, "VEEGAN", Sec. 5; Metz et al.
2017, "Unrolled GANs"): assign every sample to its nearest centre, call it high quality when
it lies within ``radius * std`` of that centre, and

    high_quality  = #{i : ||x_i - mu_{a(i)}|| <= radius * std} / N
    modes_covered = #{k : n_k >= fair_fraction * N / K}       n_k = in-radius samples at mode k
    mode_kl       = KL(p || U_K) = sum_k p_k log(K p_k)       p_k = n_k / sum_j n_j, 0 log 0 = 0

mode_kl is 0 for a perfectly balanced histogram and at most log K (all mass on one mode); it
stays finite when modes are empty, and is log K by definition when no sample is in radius.

For a class-conditional mixture (class c = mode c) sampled with labels c_i:

    class_accuracy = #{i : ||x_i - mu_{c_i}|| <= radius * std} / N
"""
from __future__ import annotations

import math

import torch

from zoo.metrics.point_cloud import as_cloud
from zoo.registry import register


def mode_counts(x: torch.Tensor, modes: torch.Tensor, max_dist: float
                ) -> tuple[torch.Tensor, int]:
    """In-radius counts per mode [K] (int64) and the number of in-radius samples.

    x [N, D], modes [K, D]; a sample at distance exactly ``max_dist`` counts as inside.
    """
    dist, nearest = torch.cdist(x, modes, compute_mode="donot_use_mm_for_euclid_dist").min(1)
    inside = dist <= max_dist
    counts = torch.bincount(nearest[inside], minlength=modes.shape[0])
    return counts, int(inside.sum())


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(counts / sum || uniform over K) with 0 log 0 = 0; log K when the histogram is empty."""
    k = counts.numel()
    total = counts.sum().item()
    if total == 0:
        return math.log(k)
    p = counts[counts > 0].double() / total
    return max(0.0, (p * torch.log(k * p)).sum().item())


@register("metric", "mode_metrics")
def mode_metrics(x, modes, std: float, radius: float = 3.0, fair_fraction: float = 0.5
                 ) -> dict[str, float]:
    """high_quality, modes_covered and mode_kl of samples x [N, D] for centres modes [K, D]."""
    x, modes = as_cloud(x, "x (samples)"), as_cloud(modes, "modes")
    if x.shape[1] != modes.shape[1]:
        raise ValueError(f"x and modes must have the same dimension D, got {x.shape[1]} and "
                         f"{modes.shape[1]}")
    std, radius, fair_fraction = float(std), float(radius), float(fair_fraction)
    if not (std > 0 and math.isfinite(std)):
        raise ValueError(f"mode std must be a finite number > 0, got {std}")
    if not radius > 0:
        raise ValueError(f"radius must be > 0, got {radius}")
    if not fair_fraction >= 0:
        raise ValueError(f"fair_fraction must be >= 0, got {fair_fraction}")
    n, k = x.shape[0], modes.shape[0]
    counts, inside = mode_counts(x, modes.to(x.device), radius * std)
    return {
        "high_quality": inside / n,
        "modes_covered": float((counts >= fair_fraction * n / k).sum().item()),
        "mode_kl": kl_to_uniform(counts),
    }


@register("metric", "class_accuracy")
def class_accuracy(x, labels, modes, std: float, radius: float = 3.0) -> float:
    """Share of samples x [N, D] of class labels [N] within ``radius * std`` of mode labels[i]."""
    x, modes = as_cloud(x, "x (samples)"), as_cloud(modes, "modes")
    labels = torch.as_tensor(labels, dtype=torch.long, device=x.device)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape [{x.shape[0]}] (one per sample), got "
                         f"{tuple(labels.shape)}")
    if bool(((labels < 0) | (labels >= modes.shape[0])).any()):
        raise ValueError(f"labels must be classes in 0..{modes.shape[0] - 1} (one per mode)")
    dist = (x - modes.to(x.device)[labels]).norm(dim=1)
    return float((dist <= float(radius) * float(std)).float().mean())
