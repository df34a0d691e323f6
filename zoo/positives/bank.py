"""``bank`` positives: the release's memory banks (lambertae/drifting ``memory_bank.py``).

Per-class rings of ``per_class`` slots and a global ring of ``global_size`` slots
(``zoo.positives.rings.SampleBanks``); each step pushes ``push_per_step`` labelled real samples
and draws
    pos[c] = per_class_ring[c].sample(P),        uncond = global_ring.sample(C * U)
Protocol and the full description: ``zoo.positives``.
"""
from __future__ import annotations

import torch

from zoo.positives import Positives
from zoo.positives.rings import SampleBanks
from zoo.registry import register


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
