"""The sliced-Wasserstein drift: average over random directions of the 1-D monotone OT displacement.

Sliced Wasserstein flows (Bonneel et al. 2015; Liutkus et al. 2019), as a drift in the
Wasserstein-gradient-flow reading of drifting (Gretton et al. 2026; W-Flow). With L unit
directions theta_l, q the negatives (by default the generated batch, ``assemble``) and p the
positives, each weighted by its (normalised) weights,

    V(x) = (1/L) sum_l ( T_l(t_l) - t_l ) theta_l,    t_l = theta_l . x,
    T_l  = F_{p,l}^{-1} o F_{q,l}                      (1-D monotone transport map q_l -> p_l).

Interpolation: a weighted sorted sample s_1 <= ... <= s_n with weights w (sum 1) has knots at
its cell midpoints m_k = w_1 + ... + w_{k-1} + w_k / 2. F_q is the piecewise-linear map through
(s_k, m_k) of q, F_p^{-1} the piecewise-linear map through (m_k, s_k) of p, held constant outside
[m_1, m_P]. Outside q's range the map is continued by translation, T(t) = T(s_1) + (t - s_1)
(same at s_n), i.e. t is clamped to [s_1, s_n] before taking T(t) - t. Hence V = 0 when p = q
for every x, and at a support point of q with N = P equal weights T sends the k-th smallest
projection to the k-th smallest of p: sorted matching.

Identity (N = P, equal weights, x = the support of q): with
SW2^2(q, p) = (1/L) sum_l (1/N) sum_k (q_(k) - p_(k))^2 over the same directions,

    V(x_i) = -(N / 2) grad_{x_i} SW2^2(q, p)          (= -(1 / (2 a_i)) grad, a_i = 1/N).

Directions: standard normals normalised to the sphere, drawn on the CPU from ``seed`` (the field
is deterministic and identical across devices), ``projections`` = L of them, shared by all B
groups. ``kernel.tau`` is ignored (sorted matching has no length scale), so in the drift step
every temperature yields the same force.

Not anti-symmetric: swapping p and q replaces T_l by T_l^{-1}, and T^{-1}(t) - t = -(T(t) - t)
only when T is a translation; p a dilation of q, say, gives V_{q,p} != -V_{p,q}.

Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D]; memory and time O(B L (N+Q+P) log).
The 1-D quantile arithmetic runs in float64 (cheap: B L (N+Q+P) numbers).
"""
from __future__ import annotations

import torch

from zoo.fields import assemble
from zoo.registry import register

TINY = 1e-300  # floor on knot spacings (ties and zero weights), float64


def directions(d: int, projections: int, seed: int, device=None) -> torch.Tensor:
    """[L, D] unit directions drawn from ``seed`` on the CPU (float32), then moved to ``device``."""
    g = torch.Generator().manual_seed(int(seed))
    theta = torch.randn(int(projections), d, generator=g)
    return (theta / theta.norm(dim=-1, keepdim=True).clamp(min=1e-12)).to(device)


def sorted_knots(s: torch.Tensor, w: torch.Tensor):
    """Sorted values and midpoint cumulative weights: s [B,L,M], w [B,M] -> (s, m) [B,L,M]."""
    s, order = s.sort(dim=-1)
    w = w.clamp(min=0)
    w = (w / w.sum(-1, keepdim=True).clamp(min=TINY))[:, None, :].expand_as(s).gather(-1, order)
    return s, w.cumsum(-1) - 0.5 * w


def interp(t: torch.Tensor, xk: torch.Tensor, yk: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear map through (xk, yk), constant outside: t [B,L,N], xk, yk [B,L,K]."""
    if xk.shape[-1] == 1:
        return yk.expand_as(t).clone()
    i = torch.searchsorted(xk.contiguous(), t.contiguous(), right=True).clamp(1, xk.shape[-1] - 1)
    x0, x1, y0, y1 = xk.gather(-1, i - 1), xk.gather(-1, i), yk.gather(-1, i - 1), yk.gather(-1, i)
    frac = ((t - x0) / (x1 - x0).clamp(min=TINY)).clamp(0, 1)
    return y0 + frac * (y1 - y0)


@register("field", "sliced")
@torch.no_grad()
def sliced(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
           self_negatives: bool = True, projections: int = 64, seed: int = 0) -> torch.Tensor:
    """(1/L) sum_l (F_p^-1(F_q(theta_l.x)) - theta_l.x) theta_l; see the module docstring."""
    del kernel  # no length scale: see the module docstring
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    if t.neg.shape[1] == 0:
        raise ValueError("sliced needs negatives: self_negatives=False requires neg")
    theta = directions(x.shape[-1], projections, seed, x.device)           # [L, D]
    proj = lambda z: (z @ theta.T).transpose(1, 2).double()                # [B,M,D] -> [B,L,M]
    sq, mq = sorted_knots(proj(t.neg), t.neg_w.double())
    sp, mp = sorted_knots(proj(t.pos), t.pos_w.double())
    tx = torch.minimum(torch.maximum(proj(x), sq[..., :1]), sq[..., -1:])  # clamp to q's range
    shift = interp(interp(tx, sq, mq), mp, sp) - tx                        # [B,L,N]
    return (shift.transpose(1, 2).float() @ theta) / theta.shape[0]


sliced.antisymmetric = False
sliced.needs_logk = False  # kernel unused: works with every kernel (energy too)
sliced.ignores = ("kernel", "train.temperatures")  # no length scale: the leaderboard marks them
