"""Positive sources: where a step's real samples (positives, and CFG's unconditional reals) come from.

* ``fresh`` (default): every step draws new samples from the dataset,
      pos[c] ~ p(.|c) (``dataset.sample_class``),   uncond ~ p(.) (``dataset.sample``).
* ``bank``: the release's memory banks (lambertae/drifting ``memory_bank.py`` and the loop of
  ``train.py``; ``zoo.positives.rings.SampleBanks``). Every step ``push_per_step`` labelled real samples
  (classes uniform, as a shuffled data loader yields them) are pushed into per-class rings of
  ``per_class`` slots and a global ring of ``global_size`` slots; then
      pos[c] = per_class_ring[c].sample(P),        uncond = global_ring.sample(C * U)
  (without replacement when a ring holds enough items). Positives are thus recent real samples,
  re-used across steps, and any class gets positives at once without a class-balanced loader:
  the design that lets a streaming dataset (shards) feed class-conditional training. Before
  the first step every class ring is prefilled with ``per_class`` samples of its class (the
  release instead starts from empty rings that return zeros). The banks are checkpointed, so a
  resumed run draws bit-identical positives.

Protocol (one small class per file, registered under kind ``positives``, gin ``train.positives``):

    source.reset(dataset)                                  # a fresh run
    pos, uncond = source.draw(dataset, classes, p, u, generator)
        classes [C] int64 or None (unconditional: one group), p positives per group,
        u unconditional reals per group (0: none) -> pos [C, P, D], uncond [C, U, D] or None
    batch = source.select(batch, x, encoder)                # after the generator: x [C, G, D]
        (default: the batch as drawn; ``knn`` replaces batch.pos with x's nearest real samples)
    source.state_dict() / load_state_dict(state)           # checkpointed state
"""
from __future__ import annotations


class Positives:
    """Base source: no state."""

    def reset(self, dataset) -> None:
        """Forget per-run state (a fresh run on ``dataset``)."""

    def select(self, batch, x, encoder=None):
        """The step's batch once the generator made x [C, G, D] (detached); ``encoder`` is the
        run's frozen feature encoder or None. The base source keeps the positives it drew."""
        return batch

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


from zoo.registry import import_all  # noqa: E402

import_all(__name__, __path__, globals())  # every module registers itself
