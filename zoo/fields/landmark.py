"""Landmark (Nystrom / projected-RKHS) drift: the attraction through m landmarks, O(N m) not O(N P).

The ``split`` field's attraction needs two kernel sums over all P positives,

    den(x) = sum_p k(x, y_p) w_p,      num(x) = sum_p k(x, y_p) w_p y_p,
    V+(x)  = num(x) / den(x) - x.

Following DriftXpress (projected-RKHS drifting, 2026), k(x, .) is projected onto the span of
m landmark features k(l_1, .) ... k(l_m, .) in the RKHS (the Nystrom approximation,
Williams & Seeger 2001):

    k(x, y) ~ k(x, L) K_LL^+ k(L, y)
    den(x) ~ k(x, L) a,    a = K_LL^+ K_LP w               [m]
    num(x) ~ k(x, L) b,    b = K_LL^+ K_LP (w * Y)         [m, D]

so the attraction costs O(N m D + P m D + m^3) instead of O(N P D): the positives are
summarised once into m coefficients (a, b). The repulsion V- is exact, as in ``split``
(V = V+ - V-), so the whole call still costs O(N Q' D) for the Q' = N + Q negatives.

Choices:

* Landmarks (``selection``) are drawn from the positives, deterministically from ``seed``:
  ``"kmeanspp"`` (default) is k-means++ seeding -- the first landmark by weight, each next one
  with probability ~ w_p d(y_p, L)^2 -- which spreads landmarks over the data and gives a
  lower error than ``"uniform"``, a weighted draw without replacement (Gumbel top-m).
  Well-separated landmarks also keep K_LL well conditioned. Zero-weight positives are never
  chosen while positives of nonzero weight remain.
* Regularisation: K_LL^+ is a truncated eigen-pseudo-inverse in float64: eigenvalues below
  ``rcond * lambda_max`` are dropped (near-duplicate landmarks or a wide kernel make K_LL
  singular; dropping, unlike a solve, cannot amplify float32 noise by more than 1/rcond).
* Dynamic range: k(x, L) is scaled per row by exp(-max_l log k(x, l)) (it cancels in
  num / den), so small temperatures do not underflow every entry of a row.
* Guard: a Nystrom estimate of den is not positive by construction (K_LL^+ has negative
  entries), and far from every landmark num / den is a ratio of two cancelling sums. A row
  keeps its Nystrom value only if den(x) >= ``RELIABLE`` * k(x, L) |a| (cancellation does not
  dominate) and the attraction target num / den lies in the bounding box of the positives
  (the exact target is a convex combination of them, so it always does); otherwise it falls
  back to the landmark subsample sum_l k(x, l) w_l (l - x) / sum_l k(x, l) w_l, a convex
  combination that is always finite. In the data region the guard rarely fires; for x far
  outside it (30 sd, Gaussian kernel) it turns V+ errors of 1e30 into a few per cent.

With ``landmarks >= P`` every positive is a landmark; the projection is then the identity on
their span (K_PP^+ K_PP = I for a full-rank K_PP), the sums are exact and the field *is*
``split`` (computed by it, so equal to float32 rounding). Anti-symmetry and V = 0 at p = q
therefore hold exactly in that regime, and with m < P only up to the Nystrom error of the
attraction, because the repulsion is exact and the two sides are no longer computed alike.
The field keeps ``antisymmetric`` (the default True): the registry-wide identity tests use
P <= 32 < 64 default landmarks, where it holds exactly, and tests/test_landmark.py bounds the
m < P defect (the registry's descent test, P = 256, runs the Nystrom path). The kernel must be
positive, with a log profile: ``energy`` raises a ValueError.

Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] or None, weights [B,.] -> V [B,N,D].
"""
from __future__ import annotations

import torch

from zoo.fields import assemble, pull, repulsion, row_normalise
from zoo.fields.split import split
from zoo.kernels import cdist
from zoo.registry import register

SELECTIONS = ("kmeanspp", "uniform")
RELIABLE = 0.1  # den below this share of k(x, L) |a| is cancellation: fall back (docstring)
BOX_SLACK = 1e-3  # a Nystrom mean outside the positives' box (+ this share of it) falls back


def _uniform(w: torch.Tensor, m: int, g: torch.Generator) -> torch.Tensor:
    """m distinct indices per row drawn with probability ~ w (Gumbel top-m); w [B,P] -> [B,m]."""
    u = torch.rand(w.shape, generator=g, device=w.device).clamp(min=1e-20)
    return (w.clamp(min=0).log() - (-u.log()).log()).topk(m, dim=-1).indices


def _kmeanspp(pos: torch.Tensor, w: torch.Tensor, m: int, g: torch.Generator) -> torch.Tensor:
    """k-means++ seeding weighted by w: pos [B,P,D], w [B,P] -> indices [B,m].

    Each step draws by inverse CDF from pre-drawn uniforms and updates d^2 with one
    mat-vec (||y||^2 - 2 y.c + ||c||^2): O(P D) per landmark.
    """
    rows, w = torch.arange(pos.shape[0], device=pos.device), w.clamp(min=0)
    u = torch.rand(pos.shape[0], m, 1, generator=g, device=pos.device)
    sq = (pos * pos).sum(-1)                                               # [B,P]
    idx = [_uniform(w, 1, g)[:, 0]]
    d2 = torch.full_like(w, float("inf"))
    for j in range(1, m):
        c = pos[rows, idx[-1]]                                             # [B,D]
        dc = sq - 2 * (pos @ c[..., None])[..., 0] + (c * c).sum(-1, keepdim=True)
        d2 = torch.minimum(d2, dc.clamp(min=0))
        d2[rows, idx[-1]] = 0                                              # rounding: never re-pick
        p = d2 * w
        p = torch.where(p.sum(-1, keepdim=True) > 0, p, w + 1e-30)        # all covered
        cdf = p.cumsum(-1)
        pick = torch.searchsorted(cdf, u[:, j] * cdf[:, -1:], right=True)
        idx.append(pick[:, 0].clamp(max=pos.shape[1] - 1))
    return torch.stack(idx, 1)


def select_landmarks(pos, pos_w, m: int, seed: int = 0, selection: str = "kmeanspp"):
    """Indices [B, m] of the landmarks among the positives pos [B,P,D] (weights [B,P])."""
    if selection not in SELECTIONS:
        raise ValueError(f"landmark.selection must be one of {SELECTIONS}, got '{selection}'")
    g = torch.Generator(device=pos.device).manual_seed(int(seed))
    if selection == "uniform":
        return _uniform(pos_w, m, g)
    return _kmeanspp(pos, pos_w, m, g)


def _psd_pinv(k: torch.Tensor, rcond: float) -> torch.Tensor:
    """Truncated pseudo-inverse of symmetric PSD matrices k [B,m,m] in float64."""
    evals, evecs = torch.linalg.eigh(k.double())
    keep = evals > rcond * evals[..., -1:].clamp(min=1e-300)
    inv = torch.where(keep, 1.0 / evals.clamp(min=1e-300), torch.zeros_like(evals))
    return (evecs * inv[..., None, :]) @ evecs.transpose(-1, -2)


def check_kernel(kernel) -> None:
    """Raise ValueError unless ``kernel`` is positive with a log profile (``energy`` is not)."""
    if not getattr(kernel, "positive", True):
        raise ValueError(f"field 'landmark' needs kernel values k = exp(log k) > 0 (a positive-"
                         f"definite kernel such as laplace or gaussian); {kernel!r} is not "
                         "positive -- use the 'mmd' field for it")


def nystrom_attraction(x, pos, pos_w, idx, kernel, rcond: float = 1e-6) -> torch.Tensor:
    """V+(x) = num/den - x with num, den through the landmarks pos[idx]; see the module docstring.

    x [B,N,D], pos [B,P,D], pos_w [B,P], idx [B,m] -> [B,N,D].
    """
    lm = pos.gather(1, idx[..., None].expand(-1, -1, pos.shape[-1]))       # [B,m,D]
    lm_w = pos_w.gather(1, idx)                                            # [B,m]
    k_ll = kernel.log_profile(cdist(lm.double(), lm.double())).exp()       # [B,m,m]
    k_lp = kernel.log_profile(cdist(lm, pos)).exp()                        # [B,m,P]
    wy = torch.cat([pos_w[..., None] * pos, pos_w[..., None]], -1)         # [B,P,D+1]
    coef = (_psd_pinv(k_ll, rcond) @ (k_lp @ wy).double()).float()         # [B,m,D+1] = [b, a]
    log_kxl = kernel.log_profile(cdist(x, lm))                             # [B,N,m]
    k_xl = (log_kxl - log_kxl.amax(-1, keepdim=True)).exp()                # row-scaled
    est = k_xl @ coef                                                      # [B,N,D+1]
    num, den = est[..., :-1], est[..., -1]
    target = num / den.clamp(min=1e-30)[..., None]                         # Nystrom mean of y
    lo, hi = pos.amin(1, keepdim=True), pos.amax(1, keepdim=True)          # [B,1,D]
    slack = BOX_SLACK * (hi - lo)
    inside = ((target >= lo - slack) & (target <= hi + slack)).all(-1)
    reliable = inside & (den > RELIABLE * (k_xl @ coef[..., -1:].abs())[..., 0])
    v_nys = target - x
    v_sub = pull(row_normalise(log_kxl, lm_w), lm, x)                      # landmark subsample
    return torch.where(reliable[..., None], v_nys, v_sub)


@register("field", "landmark")
@torch.no_grad()
def landmark(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
             self_negatives: bool = True, landmarks: int = 64, seed: int = 0,
             selection: str = "kmeanspp", rcond: float = 1e-6) -> torch.Tensor:
    """Nystrom attraction through ``landmarks`` positives minus exact repulsion; see the module."""
    if int(landmarks) != landmarks or landmarks < 1:
        raise ValueError(f"landmark.landmarks must be an integer >= 1, got {landmarks}")
    if not 0 <= rcond < 1:
        raise ValueError(f"landmark.rcond must be in [0, 1), got {rcond}")
    if selection not in SELECTIONS:
        raise ValueError(f"landmark.selection must be one of {SELECTIONS}, got '{selection}'")
    check_kernel(kernel)
    if landmarks >= pos.shape[1]:  # every positive is a landmark: the projection is exact
        return split(x, pos, neg, kernel=kernel, x_w=x_w, pos_w=pos_w, neg_w=neg_w,
                     self_negatives=self_negatives)
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    idx = select_landmarks(t.pos, t.pos_w, int(landmarks), seed, selection)
    v_pos = nystrom_attraction(x, t.pos, t.pos_w, idx, kernel, rcond)
    return v_pos if t.neg.shape[1] == 0 else v_pos - repulsion(x, t, kernel)
