"""Generators f(z) -> x: one file per family, registered under kind ``generator``.

Contract: ``generator(out_dim=D)`` builds an ``nn.Module`` with ``noise(n, generator) -> z``
(drawn only from the given ``torch.Generator``, for bit-exact resume) and ``forward(z) -> x
[n, D]``. The trainer passes ``out_dim`` from the dataset; gin binds the rest.

Image generators (``conv``, ``dit`` and its variants ``dit_tiny`` / ``dit_s`` / ``dit_b`` /
``dit_l``) take ``shape`` = (C, H, W) (``out_dim``, when given, must equal C * H * W) and
return x [n, C, H, W]; ``forward(z, labels=None, alpha=None)`` as for the ``mlp``.
"""
from zoo.registry import import_all  # noqa: E402

import_all(__name__, __path__, globals())  # every module registers itself
