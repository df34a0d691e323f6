"""One training step's inputs, drawn only from the checkpointed noise and data streams.

Unconditional: z [G, noise_dim] and positives [1, P, D] (one group).
Class-conditional (``dataset.conditional``; release ``train.py``): C = ``classes_per_step``
classes, alpha = negatives.draw(C) BEFORE generating, G = batch_size // C samples per class
x = f(z, c, alpha), P = data_batch_size // C positives per class and, for strategies that need
them (``cfg``), U = ``uncond_per_class`` unconditional real samples per class -> groups [C, ., D].

Under torchrun (``zoo.dist``) every rank draws this same global step from the same streams and
keeps its contiguous block of C / W classes (``Batch.shard``): the union over ranks is exactly the
one-process batch, the RNG streams stay identical on every rank (so any rank's checkpoint
resumes in any world size), and the loss, a mean over classes, has DDP's averaged gradient.
Drawing the whole step costs every rank the step's noise and positives; the generator, the
encoder and the drift, the expensive parts, see only the rank's block.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from zoo import dist


@dataclass
class Batch:
    """One step's inputs: z [B*G, noise_dim], positives pos [B, P, D], and for conditional
    runs labels / alpha [B*G] (alpha None without guidance) and uncond [B, U, D] or None."""

    z: torch.Tensor
    pos: torch.Tensor
    labels: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    uncond: torch.Tensor | None = None

    def generate(self, model) -> torch.Tensor:
        """x [B, G, D] = f(z) or f(z, c, alpha), grouped like ``pos``.

        Any generator output is flattened per sample first: images [n, C, H, W] (``conv``,
        ``dit``) become rows [n, C*H*W], the layout of the dataset's rows; rows [n, D] are
        only viewed (the same tensor as before images were supported)."""
        x = model(self.z) if self.labels is None else model(self.z, self.labels, self.alpha)
        return x.reshape(self.pos.shape[0], -1, x[0].numel())

    def shard(self, rows: slice, negatives=None) -> "Batch":
        """The groups ``rows`` (a slice of the B groups) of this step: z, labels and alpha of
        their samples, their positives and unconditional reals. A guidance strategy's recorded
        alpha (``negatives.alpha`` [B], zoo.negatives.cfg) is cut to the same groups."""
        b = self.pos.shape[0]
        per = _rows(self.z) // b                                  # samples per group
        rows_z = slice(rows.start * per, rows.stop * per)
        cut = lambda t: None if t is None else t[rows_z]
        z = tuple(t[rows_z] for t in self.z) if isinstance(self.z, tuple) else self.z[rows_z]
        if getattr(negatives, "alpha", None) is not None and len(negatives.alpha) == b:
            negatives.alpha = negatives.alpha[rows]
        return Batch(z, self.pos[rows], cut(self.labels), cut(self.alpha),
                     None if self.uncond is None else self.uncond[rows])

    def to(self, device) -> "Batch":
        """Every tensor on ``device`` (the same tensors when already there)."""
        return Batch(*(dist.to(t, device) for t in (self.z, self.pos, self.labels, self.alpha,
                                                     self.uncond)))


def _rows(z) -> int:
    """Samples in a noise draw: a tensor [n, ...] or a tuple of them (image, style indices)."""
    return len(z[0]) if isinstance(z, tuple) else len(z)


def class_plan(cfg) -> SimpleNamespace:
    """Classes per step C and per class: generated G, positives P, unconditional reals U."""
    k = cfg.dataset.num_classes
    c = cfg.classes_per_step or k
    if not 1 <= c <= k:
        raise ValueError(f"train.classes_per_step must be in 1..{k} (the dataset's classes), "
                         f"got {c}")
    g, p = cfg.batch_size // c, cfg.data_batch_size // c
    u = p if cfg.uncond_per_class is None else cfg.uncond_per_class
    if g < 2 or p < 1:
        raise ValueError(f"train.batch_size = {cfg.batch_size} / data_batch_size = "
                         f"{cfg.data_batch_size} over {c} classes per step give {g} generated "
                         f"and {p} real samples per class; need >= 2 and >= 1 (raise the batch "
                         f"sizes or lower train.classes_per_step)")
    if u < 1:
        raise ValueError(f"train.uncond_per_class must be >= 1, got {u}")
    dist.block(c)  # ValueError unless the world size divides the classes per step
    return SimpleNamespace(classes=c, gen=g, pos=p, uncond=u)


def draw(st, cfg) -> Batch:
    """The step's inputs, from the checkpointed noise and data streams only.

    Conditional order: classes (data), alpha = negatives.draw (noise; before generating), z
    (noise), then ``cfg.positives`` (zoo.positives; data): per-class positives and the
    unconditional reals when the negatives strategy needs them.
    """
    if not cfg.conditional:
        z = st.model.noise(cfg.batch_size, st.noise)
        return Batch(z, cfg.positives.draw(cfg.dataset, None, cfg.data_batch_size, 0, st.data)[0])
    plan, ds, c = cfg.plan, cfg.dataset, cfg.plan.classes
    classes = torch.randperm(ds.num_classes, generator=st.data)[:c]
    alpha = cfg.negatives.draw(c, st.noise)
    z = st.model.noise(c * plan.gen, st.noise)
    u = plan.uncond if "uncond" in cfg.negatives.needs else 0
    pos, uncond = cfg.positives.draw(ds, classes, plan.pos, u, st.data)
    return Batch(z, pos, classes.repeat_interleave(plan.gen),
                 None if alpha is None else alpha.repeat_interleave(plan.gen), uncond)
