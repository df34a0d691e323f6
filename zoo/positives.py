"""Positive sources: where a step's real samples (positives, and CFG's unconditional reals) come from.

* ``fresh`` (default): every step draws new samples from the dataset,
      pos[c] ~ p(.|c) (``dataset.sample_class``),   uncond ~ p(.) (``dataset.sample``).
* ``bank``: the release's memory banks (lambertae/drifting ``memory_bank.py`` and the loop of
  ``train.py``; ``zoo.banks.SampleBanks``). Every step ``push_per_step`` labelled real samples
  (classes uniform, as a shuffled data loader yields them) are pushed into per-class rings of
  ``per_class`` slots and a global ring of ``global_size`` slots; then
      pos[c] = per_class_ring[c].sample(P),        uncond = global_ring.sample(C * U)
  (without replacement when a ring holds enough items). Positives are thus recent real samples,
  re-used across steps, and any class gets positives at once without a class-balanced loader:
  the design that lets a streaming dataset (shards) feed class-conditional training. Before
  the first step every class ring is prefilled with ``per_class`` samples of its class (the
  release instead starts from empty rings that return zeros). The banks are checkpointed, so a
  resumed run draws bit-identical positives.

Protocol (one small class each, registered under kind ``positives``, gin ``train.positives``):

    source.reset(dataset)                                  # a fresh run
    pos, uncond = source.draw(dataset, classes, p, u, generator)
        classes [C] int64 or None (unconditional: one group), p positives per group,
        u unconditional reals per group (0: none) -> pos [C, P, D], uncond [C, U, D] or None
    source.state_dict() / load_state_dict(state)           # checkpointed state
"""
from __future__ import annotations

import torch

from zoo.banks import SampleBanks
from zoo.registry import register


class Positives:
    """Base source: no state."""

    def reset(self, dataset) -> None:
        """Forget per-run state (a fresh run on ``dataset``)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@register("positives", "fresh")
class fresh(Positives):  # noqa: N801 -- file = class = registry key = gin name
    """New draws from the dataset every step (only ``generator``)."""

    def draw(self, dataset, classes, p: int, u: int, generator: torch.Generator):
        if classes is None:
            return dataset.sample(p, generator)[None], None
        pos = dataset.sample_class(classes.repeat_interleave(p), generator).view(len(classes), p, -1)
        uncond = dataset.sample(len(classes) * u, generator).view(len(classes), u, -1) if u else None
        return pos, uncond


@register("positives", "bank")
class bank(Positives):  # noqa: N801
    """Per-class rings + a global ring of real samples (module docstring); release defaults
    64 / 512 slots; ``push_per_step`` None: as many as the step's positives."""

    def __init__(self, per_class: int = 64, global_size: int = 512,
                 push_per_step: int | None = None):
        for name, v in (("per_class", per_class), ("global_size", global_size),
                        ("push_per_step", push_per_step)):
            if v is not None and (int(v) != v or v < 1):
                raise ValueError(f"bank.{name} must be a positive integer, got {v}")
        self.per_class, self.global_size = int(per_class), int(global_size)
        self.push_per_step = None if push_per_step is None else int(push_per_step)
        self.banks: SampleBanks | None = None

    def reset(self, dataset) -> None:
        self.banks = SampleBanks(dataset.num_classes or 1, self.per_class, self.global_size,
                                 (dataset.dim,))

    def _prefill(self, dataset, generator) -> None:
        """``per_class`` samples of every class (the global ring takes the last of them)."""
        k = dataset.num_classes
        if k:
            labels = torch.arange(k).repeat_interleave(self.per_class)
            self.banks.push(dataset.sample_class(labels, generator), labels)
        else:
            n = max(self.per_class, self.global_size)
            self.banks.push(dataset.sample(n, generator), torch.zeros(n, dtype=torch.long))

    def _push(self, dataset, n: int, generator) -> None:
        k = dataset.num_classes
        if k:
            labels = torch.randint(k, (n,), generator=generator)
            self.banks.push(dataset.sample_class(labels, generator), labels)
        else:
            self.banks.push(dataset.sample(n, generator), torch.zeros(n, dtype=torch.long))

    def draw(self, dataset, classes, p: int, u: int, generator: torch.Generator):
        if self.banks is None:
            self.reset(dataset)
        if not bool(self.banks.count.any()):  # empty rings: the first draw of a run
            self._prefill(dataset, generator)
        groups = 1 if classes is None else len(classes)
        self._push(dataset, self.push_per_step or groups * p, generator)
        if classes is None:
            return self.banks.sample_global(p, generator)[None], None
        pos = self.banks.sample(classes, p, generator)
        uncond = self.banks.sample_global(groups * u, generator).view(groups, u, -1) if u else None
        return pos, uncond

    def state_dict(self) -> dict:
        if self.banks is None:
            return {}
        return {"banks": {k: v.clone() for k, v in self.banks.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        if state and self.banks is not None:
            self.banks.load_state_dict(state["banks"])
