"""What a checkpoint holds: the whole training state of a run, so a resumed run is bit-identical.

    State = (model, EMA, optimizer, noise and data RNG streams, negatives' state (a queue),
             positives' state (banks), the dataset's stream state, step, wall time)

The dataset's part is its ``state_dict()`` when it has one (``webdataset``: the stream position,
from which its sample banks are rebuilt on load); in-memory datasets have none (their draws
depend on the data RNG stream only).

``to_dict()`` is what ``zoo.run.folder.Run.save_checkpoint`` writes (tensors and plain containers only,
loadable with ``weights_only=True``); ``load(ckpt)`` restores it. ``nonfinite(ckpt)`` names the
parts (model, ema, opt) holding a NaN or inf: the trainer never writes such a checkpoint. The model is the unwrapped
generator (no DDP ``module.`` prefix), so a checkpoint loads in any world size (``zoo.dist``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from zoo.negatives import Negatives
from zoo.positives import Positives


def _tensors(tree):
    """Every tensor in nested dicts / lists / tuples (an optimizer's state dict)."""
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, dict):
        for v in tree.values():
            yield from _tensors(v)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            yield from _tensors(v)


def all_finite(tensors) -> bool:
    """Whether every floating-point tensor of ``tensors`` is finite (one sync per device)."""
    flags: dict[torch.device, list] = {}
    for t in tensors:
        if t.is_floating_point():
            flags.setdefault(t.device, []).append(t.isfinite().all())
    return all(bool(torch.stack(f).all()) for f in flags.values())


def nonfinite(ckpt: dict) -> list[str]:
    """The parts of a checkpoint dict among model, ema, opt with a non-finite value."""
    return [part for part in ("model", "ema", "opt") if not all_finite(_tensors(ckpt[part]))]


@dataclass
class State:
    """Everything a checkpoint holds: weights, optimizer, RNG streams, negatives, progress."""

    model: torch.nn.Module
    ema: torch.nn.Module
    opt: torch.optim.Optimizer
    noise: torch.Generator
    data: torch.Generator
    negatives: Negatives
    positives: Positives
    step: int = 0
    wall: float = 0.0
    net: torch.nn.Module | None = None  # what the step calls: DDP(model) under torchrun
    dataset: object = None  # a streaming dataset with state_dict / load_state_dict, else ignored

    def __post_init__(self):
        self.net = self.model if self.net is None else self.net

    def to_dict(self) -> dict:
        return {"step": self.step, "model": self.model.state_dict(), "ema": self.ema.state_dict(),
                "opt": self.opt.state_dict(), "rng_noise": self.noise.get_state(),
                "rng_data": self.data.get_state(), "wall_time": self.wall,
                "negatives": self.negatives.state_dict(),
                "positives": self.positives.state_dict(), "dataset": self._dataset_state()}

    def _dataset_state(self) -> dict:
        save = getattr(self.dataset, "state_dict", None)
        return save() if callable(save) else {}

    def load(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.ema.load_state_dict(ckpt["ema"])
        self.opt.load_state_dict(ckpt["opt"])
        self.noise.set_state(ckpt["rng_noise"])
        self.data.set_state(ckpt["rng_data"])
        self.negatives.load_state_dict(ckpt.get("negatives", {}))
        self.positives.load_state_dict(ckpt.get("positives", {}))
        if ckpt.get("dataset") and callable(getattr(self.dataset, "load_state_dict", None)):
            self.dataset.load_state_dict(ckpt["dataset"])
        self.step, self.wall = ckpt["step"], ckpt["wall_time"]
