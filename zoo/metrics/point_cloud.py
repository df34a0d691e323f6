"""Two-sample metrics between generated samples x [N, D] and data y [M, D].

    energy distance (Szekely & Rizzo 2013, "Energy statistics", Eq. 1):
        E(x, y) = 2 E||X - Y|| - E||X - X'|| - E||Y - Y'||
      U-statistic: the within-sample means run over i != j, i.e. divide by N (N - 1).
    MMD^2 (Gretton et al. 2012, "A kernel two-sample test", Eq. 3, unbiased):
        MMD^2 = sum_{i!=j} k(x_i,x_j)/(N(N-1)) + sum_{i!=j} k(y_i,y_j)/(M(M-1)) - 2 mean k(x_i,y_j)
      with k(a, b) = exp(-||a - b||^2 / (2 h^2)); h = median pairwise distance of the pooled
      sample (median heuristic) on a seeded subset of at most 2000 points.
    sliced W2 (Rabin et al. 2011; Bonneel et al. 2015):
        SW2(x, y) = sqrt( mean_theta W2^2(theta.x, theta.y) ),  theta uniform on S^{D-1}
      with the exact 1-D W2^2 = int_0^1 (F^-1(u) - G^-1(u))^2 du of the empirical step
      quantile functions, integrated on the union of their breakpoints {i/N} u {j/M}
      (for N == M this is the mean squared difference of the sorted projections).
    k-NN precision / recall (Kynkaanniemi et al. 2019, "Improved precision and recall metric
    for assessing generative models", Eq. 1-3): r_k(a) = distance of a to its k-th nearest
    neighbour in its own set (self excluded);
        precision = mean_i 1[ exists j: ||x_i - y_j|| <= r_k(y_j) ]
        recall    = mean_j 1[ exists i: ||y_j - x_i|| <= r_k(x_i) ]

Everything runs in float64. The pairwise terms stream over row blocks of the N x M distance
matrix (``BLOCK_BYTES`` = 8 MiB per block, ~3 blocks alive at once), and ``point_cloud_metrics``
computes energy, MMD and precision/recall in the same three passes (x-x, y-y, x-y).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from zoo.registry import register

BLOCK_BYTES = 8 * 2**20      # one float64 block of the distance matrix (~3 alive at once)
MEDIAN_SUBSET = 2000         # points used by the median heuristic
MEDIAN_SEED = 0


def as_cloud(t, name: str = "x") -> torch.Tensor:
    """Validate a point cloud and return it as float64 [N, D]; ValueError says what is wrong."""
    if not isinstance(t, torch.Tensor):
        try:
            t = torch.as_tensor(t)
        except Exception as err:  # noqa: BLE001 - any conversion failure is bad input
            raise ValueError(f"{name} must be a tensor [N, D], got {type(t).__name__}") from err
    if t.dim() != 2:
        raise ValueError(f"{name} must be a 2-D point cloud [N, D], got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(t.shape)}, need N >= 1 and D >= 1")
    t = t.detach().to(torch.float64)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t


def as_pair(x, y, min_points: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate samples x [N, D] and data y [M, D]; both centred on the pooled mean."""
    x, y = as_cloud(x, "x (samples)"), as_cloud(y, "y (data)")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension D, got {x.shape[1]} and "
                         f"{y.shape[1]}")
    for name, t in (("x (samples)", x), ("y (data)", y)):
        if t.shape[0] < min_points:
            raise ValueError(f"{name} has {t.shape[0]} points; this metric needs >= {min_points}")
    y = y.to(x.device)
    centre = torch.cat([x, y]).mean(0)        # all metrics are translation invariant
    return x - centre, y - centre


def sq_dist_blocks(a: torch.Tensor, b: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (row offset, ||a_i - b_j||^2 block [c, M]) over row blocks of a [N, D], b [M, D]."""
    rows = max(1, BLOCK_BYTES // (8 * b.shape[0]))
    b_sq = (b * b).sum(1)
    for start in range(0, a.shape[0], rows):
        block = a[start:start + rows]
        d2 = torch.addmm(b_sq[None], block, b.T, alpha=-2.0)
        yield start, d2.add_((block * block).sum(1)[:, None]).clamp_(min=0.0)


@dataclass
class PassStats:
    """Sums from one pass over the pairs of (a [N, D], b [M, D])."""

    dist_sum: float = 0.0                  # sum of ||a_i - b_j|| (diagonal is 0 when a is b)
    kern_sum: float = 0.0                  # sum of k(a_i, b_j), diagonal excluded when a is b
    knn_sq: torch.Tensor | None = None     # [N] squared k-th neighbour distance (a is b)
    hit_rows: torch.Tensor | None = None   # [N] a_i inside some ball of b (given radii)
    hit_cols: torch.Tensor | None = None   # [M] b_j inside some ball of a


def pair_pass(a, b, *, same: bool, dist: bool = False, h: float | None = None,
              k: int | None = None, radii_sq: tuple | None = None) -> PassStats:
    """One streamed pass over the a-b distance matrix computing only what is asked.

    same: a is b (diagonal pairs dropped); dist: sum distances; h: sum the RBF kernel;
    k: k-NN radii (same only); radii_sq: (r_a^2 [N], r_b^2 [M]) for precision/recall hits.
    """
    out = PassStats()
    if k is not None:
        out.knn_sq = torch.empty(a.shape[0], dtype=a.dtype, device=a.device)
    if radii_sq is not None:
        out.hit_rows = torch.zeros(a.shape[0], dtype=torch.bool, device=a.device)
        out.hit_cols = torch.zeros(b.shape[0], dtype=torch.bool, device=a.device)
    for start, d2 in sq_dist_blocks(a, b):
        rows = slice(start, start + d2.shape[0])
        if same:  # exact zeros on the diagonal, whatever the Gram expansion rounded to
            d2[:, rows].fill_diagonal_(0.0)
        if h is not None:
            out.kern_sum += d2.mul(-0.5 / h**2).exp_().sum().item()
        if k is not None:  # self is the smallest (0), so the (k+1)-th value excludes it
            out.knn_sq[rows] = torch.topk(d2, k + 1, dim=1, largest=False).values[:, k]
        if radii_sq is not None:
            out.hit_rows[rows] = (d2 <= radii_sq[1][None]).any(1)
            out.hit_cols |= (d2 <= radii_sq[0][rows, None]).any(0)
        if dist:
            out.dist_sum += d2.sqrt_().sum().item()
    if same and h is not None:
        out.kern_sum -= a.shape[0]             # the N diagonal terms, each exp(0) = 1
    return out


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> float:
    """Median pairwise distance of the pooled sample (seeded subset of <= 2000 points).

    Falls back to the mean of the positive distances when the median is 0, and to 1.0
    when all points coincide.
    """
    pooled = torch.cat([x, y])
    if pooled.shape[0] > MEDIAN_SUBSET:
        gen = torch.Generator().manual_seed(MEDIAN_SEED)
        pooled = pooled[torch.randperm(pooled.shape[0], generator=gen)[:MEDIAN_SUBSET]]
    d = torch.nn.functional.pdist(pooled)
    h = d.median().item() if d.numel() else 0.0
    if h <= 0.0:
        pos = d[d > 0]
        h = pos.mean().item() if pos.numel() else 1.0
    return h


def point_cloud_metrics(x, y, *, bandwidth: float | None = None, k: int = 3,
                        want: tuple[str, ...] = ("energy_distance", "mmd", "precision_recall")
                        ) -> dict[str, float]:
    """Energy distance, MMD^2 and k-NN precision/recall in three shared passes.

    x [N, D] samples, y [M, D] data. Returns the keys of ``want`` (precision_recall gives
    "precision" and "recall").
    """
    need_pr = "precision_recall" in want
    if need_pr and int(k) < 1:
        raise ValueError(f"precision_recall needs k >= 1, got {k}")
    x, y = as_pair(x, y, min_points=k + 1 if need_pr else 2)
    n, m = x.shape[0], y.shape[0]
    dist = "energy_distance" in want
    h = None
    if "mmd" in want:
        h = float(bandwidth) if bandwidth is not None else median_bandwidth(x, y)
        if not h > 0:
            raise ValueError(f"mmd bandwidth must be > 0, got {h}")
    kk = int(k) if need_pr else None
    xx = pair_pass(x, x, same=True, dist=dist, h=h, k=kk)
    yy = pair_pass(y, y, same=True, dist=dist, h=h, k=kk)
    radii = (xx.knn_sq, yy.knn_sq) if need_pr else None
    xy = pair_pass(x, y, same=False, dist=dist, h=h, radii_sq=radii)
    out = {}
    if dist:
        out["energy_distance"] = (2 * xy.dist_sum / (n * m) - xx.dist_sum / (n * (n - 1))
                                  - yy.dist_sum / (m * (m - 1)))
    if h is not None:
        out["mmd"] = (xx.kern_sum / (n * (n - 1)) + yy.kern_sum / (m * (m - 1))
                      - 2 * xy.kern_sum / (n * m))
    if need_pr:
        out["precision"] = xy.hit_rows.double().mean().item()
        out["recall"] = xy.hit_cols.double().mean().item()
    return out


@register("metric", "energy_distance")
def energy_distance(x, y) -> float:
    """Energy distance (U-statistic) between x [N, D] and y [M, D]; N, M >= 2. 0 iff equal laws."""
    return point_cloud_metrics(x, y, want=("energy_distance",))["energy_distance"]


@register("metric", "mmd")
def mmd(x, y, bandwidth: float | None = None) -> float:
    """Unbiased MMD^2 with an RBF kernel of width ``bandwidth`` (median heuristic when None)."""
    return point_cloud_metrics(x, y, bandwidth=bandwidth, want=("mmd",))["mmd"]


@register("metric", "precision_recall")
def precision_recall(x, y, k: int = 3) -> dict[str, float]:
    """k-NN manifold precision and recall (Kynkaanniemi et al. 2019); N, M > k."""
    return point_cloud_metrics(x, y, k=int(k), want=("precision_recall",))


def directions(dim: int, num: int, seed: int) -> torch.Tensor:
    """``num`` seeded directions uniform on the unit sphere S^{dim-1}: [dim, num] float64."""
    gen = torch.Generator().manual_seed(int(seed))
    theta = torch.randn(dim, num, generator=gen, dtype=torch.float64)
    return theta / theta.norm(dim=0, keepdim=True)


def w2_sq_sorted(sa: torch.Tensor, sb: torch.Tensor) -> torch.Tensor:
    """Exact 1-D W2^2 per column of sorted samples sa [N, L], sb [M, L] -> [L].

    The quantile functions are steps on {i/N} and {j/M}; on each cell of the union of the
    breakpoints (exact integers in units of 1/(NM)) both are constant.
    """
    n, m = sa.shape[0], sb.shape[0]
    if n == m:
        return (sa - sb).pow(2).mean(0)
    dev = sa.device
    cuts = torch.cat([torch.arange(n + 1, device=dev) * m, torch.arange(m + 1, device=dev) * n])
    cuts = torch.unique(cuts)                       # sorted, from 0 to N*M
    lo, width = cuts[:-1], (cuts[1:] - cuts[:-1]).to(sa.dtype) / (n * m)
    diff = sa[torch.div(lo, m, rounding_mode="floor")] - sb[torch.div(lo, n, rounding_mode="floor")]
    return (diff.pow(2) * width[:, None]).sum(0)


@register("metric", "sliced_w2")
def sliced_w2(x, y, num_projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-2 between x [N, D] and y [M, D] over seeded random directions."""
    if int(num_projections) < 1:
        raise ValueError(f"sliced_w2 needs num_projections >= 1, got {num_projections}")
    x, y = as_pair(x, y)
    theta = directions(x.shape[1], int(num_projections), seed).to(x.device)
    per_chunk = max(1, BLOCK_BYTES // (8 * (x.shape[0] + y.shape[0])))
    total = 0.0
    for start in range(0, theta.shape[1], per_chunk):
        t = theta[:, start:start + per_chunk]
        total += w2_sq_sorted((x @ t).sort(0).values, (y @ t).sort(0).values).sum().item()
    return (total / theta.shape[1]) ** 0.5
