"""Tiles of the N x M distance matrix for the streaming fields (zoo/fields/streaming/__init__.py).

A tile is b [B, bi, bj] with bi, bj <= block: distances (laplace) or squared distances
(gaussian) between rows x [B,N,D] and one column part y [B,M_p,D] by the release's Gram
expansion (``zoo.kernels.cdist``: ||x||^2 + ||y||^2 - 2 x.y, floored at 1e-8), +inf at the
self-pairs (x_n, x_n), which sit on one diagonal of the tile (0 there with ``keep_self``). The kernels that stream have a
logit linear in that base, l = c_tau b with c < 0 (laplace c = -1/tau, gaussian
c = -1/(2 tau^2)), so one tile serves every temperature. Work tensors are reused across tiles,
so the extra memory is a few [B, T, block, block] buffers whatever N and M are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from zoo.kernels import EPS_SQ
from zoo.registry import name_of

SQUARED_BASE = {"laplace": False, "gaussian": True}  # kernels that stream: base = d or d^2
FAR = math.exp(-60.0)  # a column sum below block * FAR takes the exact column-shifted path
EXP_MIN = -87.0        # exp arguments are clamped here: e^-87 ~ 1.6e-38 is the smallest normal
                       # float32; below it exp takes a ~50x slower denormal path on x86, and such
                       # terms are below the resolution of every (max-shifted) sum they enter


def check_block_size(block_size) -> int:
    """block_size as a positive int (rows and columns per tile); ValueError names the fix."""
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer (rows and columns per tile, "
                         f"e.g. drift.block_size = 512) or None for the dense path, got {block_size!r}")
    return block_size


def logit_coefs(kernels, device=None) -> tuple[bool, torch.Tensor]:
    """(squared base?, c_tau [T,1,1]) for kernels of one family at several temperatures."""
    names = {name_of(k) for k in kernels}
    if len(names) != 1 or not names <= set(SQUARED_BASE):
        raise ValueError(f"the streaming path supports the kernels {sorted(SQUARED_BASE)}, got "
                         f"{sorted(names)}; use drift.block_size = None (dense) for other kernels")
    squared = SQUARED_BASE[names.pop()]
    coefs = [-1 / (2 * k.tau**2) if squared else -1 / k.tau for k in kernels]
    return squared, torch.tensor(coefs, device=device).view(-1, 1, 1)


@dataclass
class Tiles:
    """The tiled problem: rows x [B,N,D] against column parts ys[p] [B,M_p,D].

    xn [B,N] and yn[p] [B,M_p] are squared norms, yaug[p] = [w y | w] [B,M_p,D+1]; the first
    ``n_self`` columns of part 0 are x itself: its self-pairs masked, or with ``keep_self``
    (``split_self``) kept at distance exactly 0.
    """

    x: torch.Tensor
    xn: torch.Tensor
    ys: list
    yn: list
    yaug: list
    n_self: int
    block: int
    squared: bool
    keep_self: bool = False
    work: dict = field(default_factory=dict)

    @classmethod
    def build(cls, x, parts, n_self: int, block: int, squared: bool,
              keep_self: bool = False) -> "Tiles":
        """parts: [(y [B,M_p,D], w [B,M_p])]."""
        yaug = [torch.cat([w[..., None] * y, w[..., None]], -1) for y, w in parts]
        return cls(x, (x * x).sum(-1), [y for y, _ in parts], [(y * y).sum(-1) for y, _ in parts],
                   yaug, n_self, block, squared, keep_self)

    def buf(self, name: str, shape) -> torch.Tensor:
        """A reused work tensor of ``shape`` (at most one tile's worth): no allocation per tile."""
        n = math.prod(shape)
        if name not in self.work or self.work[name].numel() < n:
            self.work[name] = self.x.new_empty(n)
        return self.work[name][:n].view(shape)

    def row_blocks(self) -> list[slice]:
        return [slice(i, i + self.block) for i in range(0, self.x.shape[1], self.block)]

    def col_blocks(self) -> list[tuple[int, slice]]:
        return [(p, slice(j, j + self.block)) for p, y in enumerate(self.ys)
                for j in range(0, y.shape[1], self.block)]

    def mask(self, rows: slice, part: int, cols: slice) -> int | None:
        """The self-pairs (x_n, x_n) of this tile as a diagonal offset (``fill_self``), or None."""
        n, m = self.x.shape[1], self.ys[part].shape[1]
        i0, i1, j0, j1 = rows.start, min(rows.stop, n), cols.start, min(cols.stop, m)
        if part != 0 or max(i0, j0) >= min(i1, j1, self.n_self):
            return None
        return i0 - j0

    def base(self, rows: slice, part: int, cols: slice):
        """(b [B,bi,bj] = distances, or squared distances, +inf at self-pairs; mask or None);
        with ``keep_self`` 0 at the self-pairs and no mask."""
        x, y = self.x[:, rows], self.ys[part][:, cols]
        sq = torch.baddbmm(self.yn[part][:, None, cols], x, y.transpose(1, 2), alpha=-2,
                           out=self.buf("base", (x.shape[0], x.shape[1], y.shape[1])))
        sq.add_(self.xn[:, rows, None]).clamp_(min=EPS_SQ)
        b = sq if self.squared else sq.sqrt_()
        mask = self.mask(rows, part, cols)
        if self.keep_self:
            return fill_self(b, mask, 0.0), None
        return fill_self(b, mask, math.inf), mask


def fill_self(tile: torch.Tensor, mask: int | None, value: float) -> torch.Tensor:
    """Set the self-pairs of ``tile`` [..., bi, bj] (diagonal offset ``mask``) to ``value``."""
    if mask is not None:
        tile.diagonal(mask, -2, -1).fill_(value)
    return tile


def scaled_exp(shifted: torch.Tensor, coefs: torch.Tensor, mask, out: torch.Tensor) -> torch.Tensor:
    """exp(max(c d, EXP_MIN)) for d = shifted [B,bi,bj] >= 0 and every c -> out [B,T,bi,bj];
    exactly 0 at the masked self-pairs."""
    torch.mul(shifted[:, None], coefs, out=out).clamp_(min=EXP_MIN).exp_()
    return fill_self(out, mask, 0.0)
