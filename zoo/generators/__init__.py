"""Generators f(z) -> x: one file per family, registered under kind ``generator``.

Contract: ``generator(out_dim=D)`` builds an ``nn.Module`` with ``noise(n, generator) -> z``
(drawn only from the given ``torch.Generator``, for bit-exact resume) and ``forward(z) -> x
[n, D]``. The trainer passes ``out_dim`` from the dataset; gin binds the rest.
"""
from zoo.generators.mlp import mlp  # noqa: F401  (registers the generator)
