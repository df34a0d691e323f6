"""Schedules: a multiplier m(t) of a base value over training, t = step / steps in [0, 1].

    constant:     m(t) = 1
    exponential:  m(t) = max(exp(-rate * max(t - delay, 0)), floor)
                                                          sigma(t) = sigma0 exp(-r t), floored
                                                          (bandwidth annealing of the
                                                          spectral/variational reading of drifting)
    cosine:       m(t) = end + (1 - end) (1 + cos(pi t)) / 2
    warmup:       m(t) = min(1, t / fraction) * then(t)   (linear warm-up, then another schedule)

The trainer multiplies every temperature by ``train.temperature_schedule`` and the learning
rate by ``train.lr_schedule``; both default to ``constant``.
"""
from __future__ import annotations

import math

from zoo.registry import register


class Schedule:
    """Base class: ``schedule(t) -> multiplier`` for t in [0, 1]."""

    def __call__(self, t: float) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in vars(self).items())})"


@register("schedule", "constant")
class constant(Schedule):
    def __call__(self, t):
        return 1.0


@register("schedule", "exponential")
class exponential(Schedule):
    def __init__(self, rate: float = 2.0, floor: float = 0.1, delay: float = 0.0):
        if rate < 0 or not 0 < floor <= 1 or not 0 <= delay < 1:
            raise ValueError("exponential schedule needs rate >= 0, 0 < floor <= 1 and "
                             f"0 <= delay < 1, got rate={rate}, floor={floor}, delay={delay}")
        self.rate, self.floor, self.delay = rate, floor, delay

    def __call__(self, t):
        return max(math.exp(-self.rate * max(t - self.delay, 0.0)), self.floor)


@register("schedule", "cosine")
class cosine(Schedule):
    def __init__(self, end: float = 0.0):
        if end < 0:
            raise ValueError(f"cosine schedule needs end >= 0, got {end}")
        self.end = end

    def __call__(self, t):
        return self.end + (1 - self.end) * 0.5 * (1 + math.cos(math.pi * min(max(t, 0.0), 1.0)))


@register("schedule", "warmup")
class warmup(Schedule):
    """Linear warm-up over the first ``fraction`` of training, then ``then`` (default constant):
    m(t) = min(1, (t + 1/steps) / fraction) * then(t) -- the release's linear lr warm-up
    (``warmup_steps`` of ``total_steps``: 10k of 200k is fraction 0.05). t = step / steps is 0
    at the first step, so ``steps`` (the run's, for the first step's small non-zero rate) is
    needed only to avoid a zero learning rate there; 0 gives m(0) = 0."""

    def __init__(self, fraction: float = 0.05, then=None, steps: int = 0):
        if not 0 < fraction <= 1 or steps < 0:
            raise ValueError(f"warmup schedule needs 0 < fraction <= 1 and steps >= 0, got "
                             f"fraction={fraction}, steps={steps}")
        self.fraction, self.then, self.steps = fraction, then, int(steps)

    def __call__(self, t):
        first = 1.0 / self.steps if self.steps else 0.0
        ramp = min(1.0, (t + first) / self.fraction)
        return ramp * (1.0 if self.then is None else self.then(t))
