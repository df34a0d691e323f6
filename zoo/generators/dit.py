"""DiT generator: a noise image -> patches -> adaLN-Zero transformer -> unpatchify -> image.

Architecture (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers", adaLN-Zero
blocks), as the drifting release uses it for its one-step generator (lambertae/drifting,
``torch/models/generator.py``: ``DiTGenerator``, ``DiTBlock``, ``FinalLayer``):

    z ~ N(0, I) [n, C, H, W]  (a noise image of the output shape, pixels or VAE latents)
    h = PatchEmbed(z) + pos    [n, T, D], T = (H/p)(W/p), p = ``patch``, pos: fixed 2-D sincos
    c = e_class(y) + e_alpha(log alpha) (+ sum of S style embeddings)           [n, D]
    block: (b1, s1, g1, b2, s2, g2) = Linear(SiLU(c))                    (6 x [n, D])
           h = h + g1 * Attn(LN(h) * (1 + s1) + b1);  h = h + g2 * MLP(LN(h) * (1 + s2) + b2)
    final: x = unpatchify(Linear(LN(h) * (1 + s) + b))                            [n, C, H, W]

adaLN-Zero: every modulation Linear and the final Linear start at exactly zero (as in DiT and
the release), so each block is the identity and the output is exactly 0 at initialisation.
The output is linear (no tanh), as in the release.

Conditioning. The release's PyTorch generator (``LabelEmbedder``, ``DiTGenerator.forward``;
its JAX original was not available to us) embeds the class with a table of K + 1 rows (row K =
the null class) and applies a guidance scale > 1 by extrapolating a conditional and a null-class
pass; its trainer draws the scale per step (``torch/train.py``, ``cfg_scale``). The drifting
paper (Deng et al. 2026, Sec. 4, "CFG conditioning") instead feeds the scale alpha to the
one-step generator as a condition, which is what this trainer needs (x = f(z, c, alpha)): here
alpha enters like DiT's timestep, a sinusoidal embedding of 1000 log alpha (alpha = 1, no
guidance, by default) through a 2-layer SiLU MLP, added to the class embedding. An
unconditional model (``num_classes`` None/0) conditions on one learned vector and takes no
labels or alpha. ``style_tokens`` = S > 0 adds the paper's random style embeddings (its text,
not the PyTorch port): S indices drawn with the noise into a learned codebook of
``style_codes`` rows, summed into c; ``noise`` then returns (image, indices [n, S]). Off by
default: the release's code feeds the noise image only.

Label dropout (the release's ``cfg_dropout``) is left out: it draws from the global RNG, and
drifting's guidance comes from mixed negatives; label K (the null class) is accepted instead.
Attention runs through ``torch.nn.functional.scaled_dot_product_attention``.
Shapes: z [n, C, H, W], labels [n] int64 in [0, K], alpha [n] or scalar -> x [n, C, H, W].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo.registry import register


def sincos_2d(dim: int, gh: int, gw: int) -> torch.Tensor:
    """Fixed 2-D sin/cos position embedding [gh * gw, dim] (half the channels per axis)."""
    if dim % 4:
        raise ValueError(f"dit: width must be divisible by 4 (2-D sincos positions), got {dim}")
    freqs = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))
    ys, xs = torch.meshgrid(torch.arange(gh, dtype=torch.float64),
                            torch.arange(gw, dtype=torch.float64), indexing="ij")
    parts = []
    for pos in (ys.reshape(-1), xs.reshape(-1)):
        ang = pos[:, None] * freqs[None]
        parts += [ang.sin(), ang.cos()]
    return torch.cat(parts, dim=1).float()


def sinusoidal(s: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """DiT's frequency embedding of scalars s [n] -> [n, dim] (cos | sin)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=s.device) / half)
    ang = s.float()[:, None] * freqs[None]
    return torch.cat([ang.cos(), ang.sin()], dim=1)


def modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """LN(h) output modulated per sample: h [n, T, D], shift/scale [n, D]."""
    return h * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    """One adaLN-Zero transformer block: h [n, T, D], c [n, D] -> [n, T, D]."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden, width))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def attention(self, h: torch.Tensor) -> torch.Tensor:
        n, t, d = h.shape
        q, k, v = self.qkv(h).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)          # [n, heads, T, d / heads]
        return self.proj(out.transpose(1, 2).reshape(n, t, d))

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        b1, s1, g1, b2, s2, g2 = self.ada(c).chunk(6, dim=1)
        h = h + g1[:, None] * self.attention(modulate(self.norm1(h), b1, s1))
        return h + g2[:, None] * self.mlp(modulate(self.norm2(h), b2, s2))


class DiT(nn.Module):
    """DiT over a C x H x W noise image with patch ``patch``; see the module docstring.

    ``shape`` = (C, H, W) with H, W divisible by ``patch``; ``out_dim`` (what the trainer
    passes for flat data) must then be C * H * W. Subclasses set ``depth``/``width``/``heads``.
    """

    depth, width, heads = 12, 384, 6  # DiT-S; variants override, arguments override both

    def __init__(self, shape=(4, 32, 32), patch: int = 2, num_classes: int | None = None,
                 out_dim: int | None = None, depth: int | None = None, width: int | None = None,
                 heads: int | None = None, mlp_ratio: float = 4.0, style_tokens: int = 0,
                 style_codes: int = 64, freq_dim: int = 256):
        super().__init__()
        depth, width, heads = depth or self.depth, width or self.width, heads or self.heads
        self.name = type(self).__name__
        _check(self.name, shape, patch, out_dim, num_classes, width, heads, style_tokens)
        self.shape, self.patch, self.freq_dim = tuple(int(s) for s in shape), patch, freq_dim
        self.num_classes = int(num_classes) if num_classes else None
        self.style_tokens, self.style_codes = style_tokens, style_codes
        ch, hh, ww = self.shape
        self.grid = (hh // patch, ww // patch)
        self.embed = nn.Conv2d(ch, width, kernel_size=patch, stride=patch)
        self.register_buffer("pos", sincos_2d(width, *self.grid)[None], persistent=False)
        self.class_embed = nn.Embedding((self.num_classes or 0) + 1, width)  # last row: null
        if self.num_classes:
            self.alpha_embed = nn.Sequential(nn.Linear(freq_dim, width), nn.SiLU(),
                                             nn.Linear(width, width))
        if style_tokens:
            self.style_embed = nn.Embedding(style_codes, width)
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.final = nn.Linear(width, patch * patch * ch)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DiT's init: xavier Linears, N(0, 0.02) embeddings, zero modulation and output."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.embed.weight.view(self.embed.weight.shape[0], -1))
        nn.init.zeros_(self.embed.bias)
        for emb in (self.class_embed, getattr(self, "style_embed", None)):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.02)
        if self.num_classes:
            for m in self.alpha_embed[0::2]:
                nn.init.normal_(m.weight, std=0.02)
        for lin in [b.ada[-1] for b in self.blocks] + [self.final_ada[-1], self.final]:
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def noise(self, n: int, generator: torch.Generator):
        """z [n, C, H, W] ~ N(0, I) from ``generator``; with style tokens, (z, idx [n, S])."""
        z = torch.randn(n, *self.shape, generator=generator)
        if not self.style_tokens:
            return z
        return z, torch.randint(self.style_codes, (n, self.style_tokens), generator=generator)

    def condition(self, n: int, labels, alpha, style, device) -> torch.Tensor:
        """The conditioning vector c [n, width]."""
        if not self.num_classes:
            if labels is not None or alpha is not None:
                raise ValueError(f"{self.name}: labels / alpha given to an unconditional "
                                 f"generator (build it with num_classes)")
            c = self.class_embed.weight[:1].expand(n, -1)
        else:
            if labels is None:
                raise ValueError(f"{self.name}: a class-conditional generator "
                                 f"({self.num_classes} classes) needs labels [n]")
            log_alpha = (torch.zeros(n, device=device) if alpha is None
                         else torch.log(torch.as_tensor(alpha, device=device).float()).expand(n))
            c = self.class_embed(labels) + self.alpha_embed(
                sinusoidal(1000 * log_alpha, self.freq_dim))
        if style is not None:
            c = c + self.style_embed(style).sum(1)
        return c

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """[n, T, p * p * C] -> [n, C, H, W]."""
        (gh, gw), p, ch = self.grid, self.patch, self.shape[0]
        x = x.view(x.shape[0], gh, gw, p, p, ch).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(x.shape[0], ch, gh * p, gw * p)

    def forward(self, z, labels: torch.Tensor | None = None,
                alpha: torch.Tensor | None = None) -> torch.Tensor:
        """x [n, C, H, W]; labels [n] required iff conditional (K = null), alpha defaults to 1."""
        z, style = z if isinstance(z, (tuple, list)) else (z, None)
        if (style is None) != (not self.style_tokens):
            raise ValueError(f"{self.name}: z must be what noise() returns: (image, style "
                             f"indices) iff style_tokens > 0 (here {self.style_tokens})")
        if z.shape[1:] != self.shape:
            raise ValueError(f"{self.name}: noise of shape {tuple(z.shape)}, expected "
                             f"[n, {', '.join(map(str, self.shape))}]")
        c = self.condition(z.shape[0], labels, alpha, style, z.device)
        h = self.embed(z).flatten(2).transpose(1, 2) + self.pos
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_ada(c).chunk(2, dim=1)
        return self.unpatchify(self.final(modulate(self.final_norm(h), shift, scale)))


def _check(name, shape, patch, out_dim, num_classes, width, heads, style_tokens) -> None:
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{name}: shape must be (C, H, W), got {shape}")
    if patch < 1 or shape[1] % patch or shape[2] % patch:
        raise ValueError(f"{name}: H and W of shape {tuple(shape)} must be divisible by "
                         f"patch = {patch}")
    if out_dim is not None and out_dim != math.prod(shape):
        raise ValueError(f"{name}: out_dim = {out_dim} does not match shape {tuple(shape)} "
                         f"(C*H*W = {math.prod(shape)}); bind {name}.shape")
    if num_classes and (int(num_classes) != num_classes or num_classes < 0):
        raise ValueError(f"{name}: num_classes must be a non-negative int, got {num_classes}")
    if heads < 1 or width % heads:
        raise ValueError(f"{name}: width = {width} must be divisible by heads = {heads}")
    if style_tokens < 0:
        raise ValueError(f"{name}: style_tokens must be >= 0, got {style_tokens}")


register("generator", "dit")(DiT)


@register("generator", "dit_tiny")
class dit_tiny(DiT):  # noqa: N801  (file = class = registry key = gin name)
    """A test-sized DiT: depth 2, width 64, 2 heads."""
    depth, width, heads = 2, 64, 2


@register("generator", "dit_s")
class dit_s(DiT):  # noqa: N801
    """DiT-S: depth 12, width 384, 6 heads (33M at 4x32x32, patch 2, 1000 classes)."""
    depth, width, heads = 12, 384, 6


@register("generator", "dit_b")
class dit_b(DiT):  # noqa: N801
    """DiT-B: depth 12, width 768, 12 heads (130M at 4x32x32, patch 2, 1000 classes)."""
    depth, width, heads = 12, 768, 12


@register("generator", "dit_l")
class dit_l(DiT):  # noqa: N801
    """DiT-L: depth 24, width 1024, 16 heads (458M at 4x32x32, patch 2, 1000 classes)."""
    depth, width, heads = 24, 1024, 16
