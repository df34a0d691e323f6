"""The trainer's typed, frozen configuration: what ``train(...)`` was called with, resolved.

    settings = resolve(**train_parameters)      # -> TrainConfig (frozen; assignment raises)

``resolve`` checks every value before anything is built or written (a bad one is a ValueError
naming the ``train.<parameter>`` to change), builds what gin may hand over as a class
(``train.negatives = @cfg`` as well as ``@cfg()``; the encoder, on this process's device), fills
``data_batch_size`` (default: ``batch_size``) and the class plan of conditional data
(``zoo.run.batches.class_plan``). The parameters and defaults are those of the gin root
``zoo.run.train.train``; README lists them. Helpers get only the fields they use, never the
whole TrainConfig (``zoo.run.batches.draw``, ``zoo.run.feature_step.loss``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from zoo import dist
from zoo.data import check_dataset
from zoo.drift import check_temperatures
from zoo.negatives import Negatives, check_supported
from zoo.positives import Positives
from zoo.registry import name_of
from zoo.run import feature_step
from zoo.run.batches import ClassPlan, class_plan


@dataclass(frozen=True)
class TrainConfig:
    """Every ``train`` parameter, checked; components built; ``plan`` None on unconditional data."""

    dataset: Any
    generator: Any
    encoder: torch.nn.Module | None
    field: Callable
    kernel: Any
    negatives: Negatives
    positives: Positives
    temperatures: tuple[float, ...]
    temperature_schedule: Callable[[float], float]
    steps: int
    seed: int
    batch_size: int
    data_batch_size: int
    optimizer: Callable
    lr: float
    lr_schedule: Callable[[float], float]
    betas: tuple[float, float]
    weight_decay: float
    grad_clip: float | None
    inner_steps: int
    ema_decay: float
    classes_per_step: int | None
    uncond_per_class: int | None
    log_every: int
    eval_every: int
    eval_samples: int
    checkpoint_every: int
    plan: ClassPlan | None

    @property
    def conditional(self) -> bool:
        return self.plan is not None


def _validate(batch_size, data_batch_size, steps, ema_decay, temperatures, inner_steps) -> None:
    if batch_size < 2:
        raise ValueError(f"train.batch_size must be >= 2 (the field needs other generated "
                         f"samples as negatives), got {batch_size}")
    if data_batch_size is not None and data_batch_size < 1:
        raise ValueError(f"train.data_batch_size must be >= 1, got {data_batch_size}")
    if inner_steps < 1:
        raise ValueError(f"train.inner_steps must be >= 1, got {inner_steps}")
    if steps < 1:
        raise ValueError(f"train.steps must be >= 1, got {steps}")
    if not 0 <= ema_decay < 1:
        raise ValueError(f"train.ema_decay must be in [0, 1), got {ema_decay}")
    check_temperatures(temperatures)


def resolve(**params) -> TrainConfig:
    """The TrainConfig of ``train``'s parameters (module docstring); call after ``dist.setup``
    (the class plan splits classes over the world size)."""
    p = dict(params)
    _validate(p["batch_size"], p["data_batch_size"], p["steps"], p["ema_decay"],
              p["temperatures"], p["inner_steps"])
    dataset = p["dataset"]
    check_dataset(dataset)
    p["data_batch_size"] = p["data_batch_size"] or p["batch_size"]
    encoder = feature_step.check_encoder(p["encoder"], dataset, p["inner_steps"])
    p["encoder"] = None if encoder is None else encoder.to(dist.device())
    for key, kind in (("negatives", Negatives), ("positives", Positives)):
        p[key] = p[key] if isinstance(p[key], kind) else p[key]()
    check_supported(p["negatives"], dataset)
    conditional = bool(getattr(dataset, "conditional", False))
    p["plan"] = class_plan(dataset, p["classes_per_step"], p["batch_size"], p["data_batch_size"],
                           p["uncond_per_class"]) if conditional else None
    dist.check_split(conditional, dataset.name, name_of(p["negatives"]))
    p["temperatures"], p["betas"] = tuple(p["temperatures"]), tuple(p["betas"])
    return TrainConfig(**p)
