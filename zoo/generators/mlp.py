"""An MLP generator for low-dimensional data: x = W_L act(... act(W_1 h)), z ~ N(0, I).

Unconditional: h = z. Class-conditional (``num_classes`` = K, set by the trainer from a
conditional dataset): h = [z, e_c, log alpha], with e_c a learned ``class_dim`` embedding of
the class c and alpha the classifier-free-guidance scale (alpha = 1, no guidance, when not
given), as the release's generator takes f(z, c, alpha) (Deng et al. 2026, Sec. 3.5).
The official toy recipe (Deng et al. 2026, toy demo) uses 3 hidden layers of 256 with SiLU.
``init_center`` / ``init_spread`` place q at the start (Fig. 3's starts: between the modes, far
away, on one mode): the output layer's bias becomes the centre and its weights are scaled so
the initial samples spread ``init_spread`` (their std per coordinate) around it; None keeps
PyTorch's initialisation (and every other draw) unchanged.
Shapes: z [n, noise_dim], labels [n] int64, alpha [n] -> x [n, out_dim].
"""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import register

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "elu": nn.ELU}


@register("generator", "mlp")
class mlp(nn.Module):
    """``depth`` hidden layers of ``width`` units with ``activation``; linear output.

    With ``num_classes`` (0/None: unconditional, the parameters and their initialisation are
    exactly those of the plain MLP) the input also holds a class embedding and log alpha.
    """

    def __init__(self, out_dim: int, noise_dim: int = 32, width: int = 256, depth: int = 3,
                 activation: str = "silu", num_classes: int | None = None, class_dim: int = 16,
                 init_center=None, init_spread: float | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"mlp.activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got '{activation}'")
        if min(out_dim, noise_dim, width, depth) < 1:
            raise ValueError("mlp: out_dim, noise_dim, width and depth must all be >= 1")
        if num_classes and (int(num_classes) != num_classes or num_classes < 0 or class_dim < 1):
            raise ValueError(f"mlp: num_classes must be a non-negative int and class_dim >= 1, "
                             f"got {num_classes}, {class_dim}")
        self.noise_dim = noise_dim
        self.num_classes = int(num_classes) if num_classes else None
        layers, d = [], noise_dim + (class_dim + 1 if self.num_classes else 0)
        for _ in range(depth):
            layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
            d = width
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)
        if self.num_classes:  # created after the net: unconditional init draws stay unchanged
            self.class_embed = nn.Embedding(self.num_classes, class_dim)
        if init_center is not None or init_spread is not None:
            self._place(init_center, init_spread)

    @torch.no_grad()
    def _place(self, center, spread) -> None:
        """Output layer set so that the initial outputs (4096 noise draws, unconditional path)
        have mean ``center`` [out_dim] and std ``spread`` per coordinate (None: as they were)."""
        out = self.net[-1]
        z = torch.randn(4096, self.noise_dim, generator=torch.Generator().manual_seed(0))
        extra = self.net[0].in_features - self.noise_dim  # class embedding + log alpha: zeros
        h = self.net[:-1](torch.cat([z, z.new_zeros(4096, extra)], 1))
        y = h @ out.weight.T
        mean = (y + out.bias).mean(0) if center is None else torch.as_tensor(
            center, dtype=out.bias.dtype).flatten()
        if mean.numel() != out.bias.numel():
            raise ValueError(f"mlp.init_center needs {out.bias.numel()} numbers (the data's "
                             f"dimension), got {mean.numel()}")
        if spread is not None:
            if not spread > 0:
                raise ValueError(f"mlp.init_spread must be > 0, got {spread}")
            out.weight.mul_(float(spread) / y.std(0).mean().clamp(min=1e-12))
        out.bias.copy_(mean - (h @ out.weight.T).mean(0))

    def noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """z [n, noise_dim] ~ N(0, I) from ``generator``."""
        return torch.randn(n, self.noise_dim, generator=generator)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                alpha: torch.Tensor | None = None) -> torch.Tensor:
        """x [n, out_dim]; labels [n] are required iff conditional, alpha [n] defaults to 1."""
        if not self.num_classes:
            if labels is not None or alpha is not None:
                raise ValueError("mlp: labels / alpha given to an unconditional generator "
                                 "(build it with num_classes)")
            return self.net(z)
        if labels is None:
            raise ValueError(f"mlp: a class-conditional generator ({self.num_classes} classes) "
                             f"needs labels [n]")
        log_alpha = (z.new_zeros(z.shape[0]) if alpha is None
                     else torch.log(alpha.to(z.dtype)).expand(z.shape[0]))
        return self.net(torch.cat([z, self.class_embed(labels), log_alpha[:, None]], dim=1))
