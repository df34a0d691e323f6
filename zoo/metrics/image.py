"""Image metrics in the feature space of an evaluator network (``zoo.metrics.evaluator``).

    Frechet distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule",
    Eq. 6; FID when the features are Inception's): with means mu, covariances S of the
    features of samples (x) and data (y),
        FD = ||mu_x - mu_y||^2 + tr S_x + tr S_y - 2 tr (S_x S_y)^{1/2}
      tr (S_x S_y)^{1/2} is computed without a general (non-symmetric) matrix square root:
      A = S_x^{1/2}, B = S_y^{1/2} from symmetric eigendecompositions (eigenvalues clipped at
      0); S_x S_y = A (A B B) has the eigenvalues of A B B A = (A B)(A B)^T, i.e. sigma_i(A B)^2,
      so   tr (S_x S_y)^{1/2} = sum_i sigma_i(A B)    (the nuclear norm of A B).
      Everything in float64 (``torch.linalg.eigh`` / ``svdvals``): no complex parts, no
      diagonal eps, and stable for rank-deficient covariances (fewer samples than features,
      dead ReLU units). Taking the singular values of A B rather than the square roots of the
      eigenvalues of A S_y A matters there: a null eigenvalue carries rounding noise
      eps * lambda_max, whose square root (~1e-8 sqrt(lambda_max)) would be summed over every
      null direction, while a singular value is off by only ~eps ||A|| ||B||.
    KID (Binkowski et al. 2018, "Demystifying MMD GANs", Sec. 4 / App. D): unbiased MMD^2
      with the cubic polynomial kernel k(a, b) = (a.b / F + 1)^3, averaged over ``subsets``
      random subsets of m = min(subset_size, N, M) points of each set (without replacement):
        MMD^2_u = sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1))
                  - 2 sum_{i,j} k(x_i,y_j)/m^2
      Unbiased, so ~0 (possibly slightly negative) for samples of the same distribution.
    k-NN precision / recall (Kynkaanniemi et al. 2019) on the features:
      ``zoo.metrics.point_cloud.precision_recall``.
    class_accuracy: share of class-conditional samples whose evaluator prediction is the class
      they were generated for; class_coverage: share of the conditioned classes c whose
      samples are predicted as c at least ``threshold`` of the time; classes_covered (for
      unconditional samples): share of the K classes predicted for at least ``threshold``
      times their fair share N/K of the samples.

``evaluate_images(samples, data, evaluator, labels)`` returns them all as one flat dict; their
directions are in ``zoo.metrics.METRIC_GOAL``.
"""
from __future__ import annotations

import math

import torch

from zoo.metrics.point_cloud import as_cloud, precision_recall
from zoo.registry import register


def mean_cov(f) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean [F], unbiased covariance [F, F]) of features f [N, F] in float64; N >= 2."""
    f = as_cloud(f, "features")
    if f.shape[0] < 2:
        raise ValueError(f"features need >= 2 rows for a covariance, got {f.shape[0]}")
    mu = f.mean(0)
    c = f - mu
    return mu, (c.T @ c) / (f.shape[0] - 1)


def psd_sqrt(s: torch.Tensor) -> torch.Tensor:
    """Symmetric square root [F, F] of a symmetric PSD s (float64, eigenvalues clipped at 0)."""
    s = s.double()
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def trace_sqrt_product(s1: torch.Tensor, s2: torch.Tensor) -> float:
    """tr (s1 s2)^{1/2} of symmetric PSD s1, s2 [F, F]: the nuclear norm of s1^{1/2} s2^{1/2}
    (float64; module docstring)."""
    return float(torch.linalg.svdvals(psd_sqrt(s1) @ psd_sqrt(s2)).sum())


def frechet_from_stats(mu1, s1, mu2, s2) -> float:
    """FD between N(mu1, s1) and N(mu2, s2); mu [F], s [F, F]."""
    mu1, mu2, s1, s2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, s1, s2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"frechet: mismatched statistics {tuple(mu1.shape)}, "
                         f"{tuple(s1.shape)} vs {tuple(mu2.shape)}, {tuple(s2.shape)}")
    diff = mu1 - mu2
    value = (diff @ diff + s1.trace() + s2.trace()).item() - 2 * trace_sqrt_product(s1, s2)
    return max(value, 0.0)      # >= 0 in exact arithmetic; clip rounding below 0


@register("metric", "frechet_distance")
def frechet_distance(x, y) -> float:
    """Frechet distance between the Gaussians fitted to features x [N, F] and y [M, F]."""
    mu1, s1 = mean_cov(x)
    mu2, s2 = mean_cov(y)
    if mu1.shape != mu2.shape:
        raise ValueError(f"x and y must have the same dimension F, got {len(mu1)} and {len(mu2)}")
    return frechet_from_stats(mu1, s1, mu2, s2)


def _offdiag_sum(k: torch.Tensor) -> torch.Tensor:
    return k.sum() - k.diagonal().sum()


@register("metric", "kid")
def kid(x, y, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> float:
    """Kernel inception distance: mean unbiased MMD^2 (cubic polynomial kernel) over seeded
    subsets of features x [N, F], y [M, F]; N, M >= 2."""
    x, y = as_cloud(x, "x (samples)"), as_cloud(y, "y (data)")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension F, got {x.shape[1]} and "
                         f"{y.shape[1]}")
    m = min(int(subset_size), x.shape[0], y.shape[0])
    if m < 2 or int(subsets) < 1:
        raise ValueError(f"kid needs >= 2 points per set and subsets >= 1, got m={m}, "
                         f"subsets={subsets}")
    g = torch.Generator().manual_seed(int(seed))
    d, total = x.shape[1], 0.0
    for _ in range(int(subsets)):
        a = x[torch.randperm(x.shape[0], generator=g)[:m]]
        b = y[torch.randperm(y.shape[0], generator=g)[:m]]
        kxx, kyy, kxy = ((p @ q.T / d + 1) ** 3 for p, q in ((a, a), (b, b), (a, b)))
        total += ((_offdiag_sum(kxx) + _offdiag_sum(kyy)) / (m * (m - 1))
                  - 2 * kxy.sum() / m**2).item()
    return total / int(subsets)


def _labels(labels, n: int) -> torch.Tensor:
    labels = torch.as_tensor(labels, dtype=torch.long).cpu()
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape [{n}] (one per sample), got "
                         f"{tuple(labels.shape)}")
    return labels


@register("metric", "classifier_accuracy")
def classifier_accuracy(pred, labels) -> float:
    """Share of samples whose predicted class pred [N] equals their conditioning label [N]."""
    pred = torch.as_tensor(pred, dtype=torch.long).cpu()
    return float((pred == _labels(labels, len(pred))).double().mean())


@register("metric", "class_coverage")
def class_coverage(pred, labels, threshold: float = 0.5) -> float:
    """Share of the classes present in ``labels`` whose samples are predicted as that class
    at least ``threshold`` of the time (per-class accuracy >= threshold)."""
    pred = torch.as_tensor(pred, dtype=torch.long).cpu()
    labels = _labels(labels, len(pred))
    classes = labels.unique()
    hits = [float((pred[labels == c] == c).double().mean()) >= threshold for c in classes]
    return sum(hits) / len(classes)


@register("metric", "classes_covered")
def classes_covered(pred, num_classes: int, threshold: float = 0.5) -> float:
    """Share of the K classes predicted for at least ``threshold`` N / K samples (pred [N])."""
    pred = torch.as_tensor(pred, dtype=torch.long).cpu()
    counts = torch.bincount(pred, minlength=int(num_classes))[:int(num_classes)]
    return float((counts >= threshold * len(pred) / num_classes).double().mean())


def evaluate_images(samples, data, evaluator, labels=None, *, k: int = 3, kid_subsets: int = 100,
                    kid_subset_size: int = 1000, seed: int = 0, threshold: float = 0.5,
                    batch_size: int = 512) -> dict[str, float]:
    """Flat dict of float metrics of samples against data in the evaluator's features.

    samples [N, C*H*W] (or [N, C, H, W]) in [-1, 1], data [M, ...] likewise (N, M > k);
    labels [N] the samples' conditioning classes, or None for unconditional samples.
    Keys: fd, kid, feature_precision, feature_recall, and class_accuracy + class_coverage
    (with labels) or classes_covered (without).
    """
    fx, px = evaluator.embed(samples, batch_size)
    fy, _ = evaluator.embed(data, batch_size)
    pr = precision_recall(fx, fy, k=k)
    out = {"fd": frechet_distance(fx, fy),
           "kid": kid(fx, fy, kid_subsets, kid_subset_size, seed),
           "feature_precision": pr["precision"], "feature_recall": pr["recall"]}
    if labels is not None:
        out["class_accuracy"] = classifier_accuracy(px, labels)
        out["class_coverage"] = class_coverage(px, labels, threshold)
    else:
        out["classes_covered"] = classes_covered(px, evaluator.num_classes, threshold)
    bad = [key for key, value in out.items() if not math.isfinite(value)]
    if bad:
        raise ValueError(f"evaluate_images: non-finite metrics {bad}")
    return {key: float(value) for key, value in out.items()}
