"""An MLP generator for low-dimensional data: x = W_L act(... act(W_1 z)), z ~ N(0, I).

The official toy recipe (Deng et al. 2026, toy demo) uses 3 hidden layers of 256 with SiLU.
Shapes: z [n, noise_dim] -> x [n, out_dim].
"""
from __future__ import annotations

import torch
from torch import nn

from zoo.registry import register

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "elu": nn.ELU}


@register("generator", "mlp")
class mlp(nn.Module):
    """``depth`` hidden layers of ``width`` units with ``activation``; linear output."""

    def __init__(self, out_dim: int, noise_dim: int = 32, width: int = 256, depth: int = 3,
                 activation: str = "silu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"mlp.activation must be one of {sorted(ACTIVATIONS)}, got '{activation}'")
        if min(out_dim, noise_dim, width, depth) < 1:
            raise ValueError("mlp: out_dim, noise_dim, width and depth must all be >= 1")
        self.noise_dim = noise_dim
        layers, d = [], noise_dim
        for _ in range(depth):
            layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
            d = width
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """z [n, noise_dim] ~ N(0, I) from ``generator``."""
        return torch.randn(n, self.noise_dim, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
