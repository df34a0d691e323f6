"""Which samples fail k-NN precision, and by how much: the ball ratio of each sample.

With r_k(y_j) the distance of data point y_j to its k-th nearest data neighbour (self
excluded), as in k-NN precision (Kynkaanniemi et al. 2019, Eq. 1-3),

    rho(x_i) = min_j ||x_i - y_j|| / r_k(y_j)

so x_i counts for precision iff rho(x_i) <= 1, and precision = mean_i 1[rho(x_i) <= 1].
rho > 1.5 marks a *stray*: a sample well outside the data's k-NN balls, not one at their
rim. Shapes: x [N, D] samples, y [M, D] data (M > k) -> rho [N] float64.
"""
from __future__ import annotations

import torch

from zoo.metrics.point_cloud import as_pair, pair_pass, sq_dist_blocks

STRAY_RATIO = 1.5


def ball_ratio(x, y, k: int = 3) -> torch.Tensor:
    """rho [N] float64 of samples x [N, D] against data y [M, D]; see the module docstring."""
    if int(k) < 1:
        raise ValueError(f"ball_ratio needs k >= 1, got {k}")
    x, y = as_pair(x, y, min_points=int(k) + 1)
    r_sq = pair_pass(y, y, same=True, k=int(k)).knn_sq.clamp(min=torch.finfo(y.dtype).tiny)
    rho = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for start, d2 in sq_dist_blocks(x, y):
        rho[start:start + d2.shape[0]] = (d2.clamp(min=0) / r_sq[None]).min(1).values.sqrt()
    return rho


def miss_shares(rho: torch.Tensor, stray: float = STRAY_RATIO) -> dict[str, float]:
    """{'miss': share with rho > 1 (1 - precision), 'stray': share with rho > stray}."""
    return {"miss": (rho > 1).double().mean().item(),
            "stray": (rho > stray).double().mean().item()}
