"""One training step's inputs, drawn only from the checkpointed noise and data streams.

Unconditional: z [G, noise_dim] and positives [1, P, D] (one group).
Class-conditional (``dataset.conditional``; release ``train.py``): C = ``classes_per_step``
classes, alpha = negatives.draw(C) [C] BEFORE generating, G = batch_size // C samples per class
x = f(z, c, alpha), P = data_batch_size // C positives per class and, for strategies that need
them (``cfg``), U = ``uncond_per_class`` unconditional real samples per class -> groups [C, ., D].

The step's guidance scales travel in the Batch (``alpha_per_group`` [C]), drawn once: the
generator gets them per sample, the negatives call gets them per group
(``negatives(x, step, alpha=batch.alpha_per_group, ...)``); no component keeps them.

Under torchrun (``zoo.dist``) every rank draws this same global step from the same streams and
keeps its contiguous block of C / W classes (``Batch.shard``): the union over ranks is exactly the
one-process batch, the RNG streams stay identical on every rank (so any rank's checkpoint
resumes in any world size), and the loss, a mean over classes, has DDP's averaged gradient.
Drawing the whole step costs every rank the step's noise and positives; the generator, the
encoder and the drift, the expensive parts, see only the rank's block.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from zoo import dist


@dataclass
class Batch:
    """One step's inputs: z [B*G, noise_dim], positives pos [B, P, D], and for conditional
    runs labels [B*G], alpha_per_group [B] (None without guidance) and uncond [B, U, D] or None."""

    z: torch.Tensor
    pos: torch.Tensor
    labels: torch.Tensor | None = None
    alpha_per_group: torch.Tensor | None = None
    uncond: torch.Tensor | None = None

    @property
    def per_group(self) -> int:
        """G: generated samples per group."""
        return _rows(self.z) // self.pos.shape[0]

    def generate(self, model) -> torch.Tensor:
        """x [B, G, D] = f(z) or f(z, c, alpha) (alpha repeated over each group's G samples),
        grouped like ``pos``.

        Any generator output is flattened per sample first: images [n, C, H, W] (``conv``,
        ``dit``) become rows [n, C*H*W], the layout of the dataset's rows; rows [n, D] are
        only viewed (the same tensor as before images were supported)."""
        if self.labels is None:
            x = model(self.z)
        else:
            a = self.alpha_per_group
            x = model(self.z, self.labels, None if a is None else a.repeat_interleave(self.per_group))
        return x.reshape(self.pos.shape[0], -1, x[0].numel())

    def shard(self, rows: slice) -> "Batch":
        """The groups ``rows`` (a slice of the B groups) of this step: z and labels of their
        samples, their alpha, positives and unconditional reals."""
        per = self.per_group
        rows_z = slice(rows.start * per, rows.stop * per)
        cut = lambda t, r: None if t is None else t[r]  # noqa: E731
        z = tuple(t[rows_z] for t in self.z) if isinstance(self.z, tuple) else self.z[rows_z]
        return Batch(z, self.pos[rows], cut(self.labels, rows_z), cut(self.alpha_per_group, rows),
                     cut(self.uncond, rows))

    def to(self, device) -> "Batch":
        """Every tensor on ``device`` (the same tensors when already there)."""
        return Batch(*(dist.to(t, device) for t in (self.z, self.pos, self.labels,
                                                     self.alpha_per_group, self.uncond)))


def _rows(z) -> int:
    """Samples in a noise draw: a tensor [n, ...] or a tuple of them (image, style indices)."""
    return len(z[0]) if isinstance(z, tuple) else len(z)


@dataclass(frozen=True)
class ClassPlan:
    """A conditional step's shape: C classes, and per class G generated, P positives, U uncond."""

    classes: int
    gen: int
    pos: int
    uncond: int


def class_plan(dataset, classes_per_step: int | None, batch_size: int, data_batch_size: int,
               uncond_per_class: int | None) -> ClassPlan:
    """Classes per step C (default: all) and per class: generated G, positives P, uncond U."""
    k = dataset.num_classes
    c = classes_per_step or k
    if not 1 <= c <= k:
        raise ValueError(f"train.classes_per_step must be in 1..{k} (the dataset's classes), "
                         f"got {c}")
    g, p = batch_size // c, data_batch_size // c
    u = p if uncond_per_class is None else uncond_per_class
    if g < 2 or p < 1:
        raise ValueError(f"train.batch_size = {batch_size} / data_batch_size = "
                         f"{data_batch_size} over {c} classes per step give {g} generated "
                         f"and {p} real samples per class; need >= 2 and >= 1 (raise the batch "
                         f"sizes or lower train.classes_per_step)")
    if u < 1:
        raise ValueError(f"train.uncond_per_class must be >= 1, got {u}")
    dist.block(c)  # ValueError unless the world size divides the classes per step
    return ClassPlan(classes=c, gen=g, pos=p, uncond=u)


def draw(st, *, dataset, positives, negatives, plan: ClassPlan | None, batch_size: int,
         data_batch_size: int) -> Batch:
    """The step's inputs, from the checkpointed noise and data streams (``st.noise``,
    ``st.data``) only; ``plan`` is None for unconditional data.

    Conditional order: classes (data), alpha = negatives.draw (noise; before generating), z
    (noise), then ``positives`` (zoo.positives; data): per-class positives and the
    unconditional reals when the negatives strategy needs them.
    """
    if plan is None:
        z = st.model.noise(batch_size, st.noise)
        return Batch(z, positives.draw(dataset, None, data_batch_size, 0, st.data)[0])
    c = plan.classes
    classes = torch.randperm(dataset.num_classes, generator=st.data)[:c]
    alpha = negatives.draw(c, st.noise)
    z = st.model.noise(c * plan.gen, st.noise)
    u = plan.uncond if "uncond" in negatives.needs else 0
    pos, uncond = positives.draw(dataset, classes, plan.pos, u, st.data)
    return Batch(z, pos, classes.repeat_interleave(plan.gen), alpha, uncond)
