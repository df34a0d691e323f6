"""Negative-mixing strategies: the EXTRA negatives that join the generated batch in the field.

The field always repels x from the generated batch itself (self-pairs masked,
``zoo.fields.assemble``); a strategy adds more negatives y- with weights w-:

    V(x) = E_p[k~(x,y+)(y+ - x)] - E_{q~}[k~(x,y-)(y- - x)],   q~ = mix of q and the extras

* ``self``: nothing extra (the default).
* ``cfg``: classifier-free guidance as mixed negatives (Deng et al. 2026, Sec. 3.5 / App. A.7;
  release ``train.py`` ``train_step``). Per group (class) c, U unconditional real samples join
  the G generated ones with weight w = (alpha - 1)(G - 1) / U each. Against the G - 1 unmasked
  generated negatives (weight 1) the negatives then follow q~ = q/alpha + (1 - 1/alpha) p(.),
  and V = 0 at q~(.|c) = p(.|c) gives the guided generator
        q(.|c) = alpha p(.|c) - (alpha - 1) p(.)          (alpha = 1: no guidance)
  alpha is drawn per group and step by inverse CDF from p(alpha) ~ alpha^-power on
  [alpha_min, alpha_max] (log-uniform at power = 1), then set to 1 with prob. no_cfg_frac.
* ``queue``: a FIFO of the last ``size`` generated features (stale negatives, weight ``weight``).
* ``other_class``: each group's negatives are the other groups' positives (real samples of
  other classes), optionally ``per_class`` of each, with weight ``weight``.

Protocol, shared by every strategy (one small class each):

    alpha = strategy.draw(groups, generator)     # [B] guidance scale, or None; BEFORE generating:
                                                 # a conditional generator takes f(z, c, alpha)
    neg, neg_w = strategy(gen, step, alpha=None, pos=None, uncond=None, generator=None)
        gen [B, N, D] generated features (B groups, e.g. classes), alpha [B] the step's guidance
        scales (from ``draw``; the trainer carries them in its Batch), pos [B, P, D] positives,
        uncond [B, U, D] or [U, D] unconditional real samples -> neg [B, Q, D] / neg_w [B, Q]
        or (None, None).
    strategy.needs                               # data it requires: "classes", "uncond"
    reset() / state_dict() / load_state_dict()   # per-run state (the queue), checkpointed

A strategy holds no per-step state: ``draw`` returns alpha and keeps nothing, every call gets it
as an argument. The only state is what is checkpointed on purpose (``queue``'s memory).
"""
from __future__ import annotations

import math

import torch

from zoo.registry import name_of, register


class Negatives:
    """Base strategy: no extra negatives, no state, no guidance scale."""

    needs: tuple[str, ...] = ()

    def draw(self, groups: int, generator: torch.Generator) -> torch.Tensor | None:
        """The guidance scale alpha [groups] for this step, or None (no guidance input)."""
        return None

    def __call__(self, gen, step: int, *, alpha=None, pos=None, uncond=None, generator=None):
        return None, None

    def reset(self) -> None:
        """Forget per-run state (a fresh run)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@register("negatives", "self")
class self(Negatives):  # noqa: N801 -- file = class = registry key = gin name (name_of reads it)
    """The generated batch only (it is already among the field's negatives): returns None."""


def uncond_weight(alpha: torch.Tensor, n_gen: int, n_uncond: int) -> torch.Tensor:
    """Per-sample weight [B] of the unconditional negatives: (alpha - 1)(G - 1) / max(1, U)."""
    return (alpha - 1) * (n_gen - 1) / max(1, n_uncond)


def powerlaw_alpha(u: torch.Tensor, lo: float, hi: float, power: float) -> torch.Tensor:
    """Inverse CDF of p(alpha) ~ alpha^-power on [lo, hi] at uniforms u (log-uniform at 1)."""
    e = 1.0 - power
    if abs(e) < 1e-6:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return (lo ** e + u * (hi ** e - lo ** e)) ** (1.0 / e)


@register("negatives", "cfg")
class cfg(Negatives):
    """CFG as mixed negatives; defaults are the release's (cfg_min, cfg_max, neg_cfg_pw,
    no_cfg_frac) = (1, 4, 1, 0)."""

    needs = ("classes", "uncond")

    def __init__(self, alpha_min: float = 1.0, alpha_max: float = 4.0, power: float = 1.0,
                 no_cfg_frac: float = 0.0):
        if not 1.0 <= alpha_min <= alpha_max or not math.isfinite(alpha_max):
            raise ValueError(f"cfg needs 1 <= alpha_min <= alpha_max < inf (alpha < 1 would give "
                             f"negative weights), got alpha_min={alpha_min}, alpha_max={alpha_max}")
        if not math.isfinite(power):
            raise ValueError(f"cfg.power must be finite, got {power}")
        if not 0.0 <= no_cfg_frac <= 1.0:
            raise ValueError(f"cfg.no_cfg_frac must be in [0, 1], got {no_cfg_frac}")
        self.alpha_min, self.alpha_max = float(alpha_min), float(alpha_max)
        self.power, self.no_cfg_frac = float(power), float(no_cfg_frac)

    def draw(self, groups: int, generator: torch.Generator) -> torch.Tensor:
        """alpha [groups] (float32), drawn only from ``generator`` (nothing is kept)."""
        if not isinstance(generator, torch.Generator):
            raise ValueError("cfg.draw needs a torch.Generator (for a deterministic resume)")
        dev = generator.device
        u = torch.rand(groups, generator=generator, device=dev, dtype=torch.float64)
        off = torch.rand(groups, generator=generator, device=dev, dtype=torch.float64)
        alpha = powerlaw_alpha(u, self.alpha_min, self.alpha_max, self.power)
        return torch.where(off < self.no_cfg_frac, torch.ones_like(alpha), alpha).float()

    def __call__(self, gen, step: int, *, alpha=None, pos=None, uncond=None, generator=None):
        b, n, d = gen.shape
        if uncond is None:
            raise ValueError("cfg negatives need unconditional real samples (uncond=[B, U, D])")
        if uncond.dim() == 2:
            uncond = uncond[None].expand(b, *uncond.shape)
        if uncond.dim() != 3 or uncond.shape[0] != b or uncond.shape[2] != d:
            raise ValueError(f"uncond has shape {tuple(uncond.shape)}, expected [{b}, U, {d}]")
        if alpha is None or alpha.shape != (b,):
            raise ValueError(f"cfg needs alpha=[{b}] (one guidance scale per group, from "
                             f"draw({b}, generator)); got "
                             f"{None if alpha is None else tuple(alpha.shape)}")
        w = uncond_weight(alpha.to(gen.device), n, uncond.shape[1])
        return uncond, w[:, None].expand(b, uncond.shape[1]).contiguous()


@register("negatives", "queue")
class queue(Negatives):
    """FIFO memory of the last ``size`` generated features per group: stale negatives.

    A call returns the memory as it was before this step, then enqueues ``gen`` (detached).
    """

    def __init__(self, size: int = 1024, weight: float = 1.0):
        if int(size) != size or size < 1:
            raise ValueError(f"queue.size must be a positive integer, got {size}")
        if not weight >= 0 or not math.isfinite(weight):
            raise ValueError(f"queue.weight must be finite and >= 0, got {weight}")
        self.size, self.weight = int(size), float(weight)
        self.feats: torch.Tensor | None = None

    def __call__(self, gen, step: int, *, alpha=None, pos=None, uncond=None, generator=None):
        old = self.feats
        if old is not None and (old.shape[0] != gen.shape[0] or old.shape[2] != gen.shape[2]):
            raise ValueError(f"queue holds [{old.shape[0]}, ., {old.shape[2]}] features, got "
                             f"gen {tuple(gen.shape)}; groups and dimension must not change")
        new = gen.detach().float()
        self.feats = (new if old is None else torch.cat([old, new], 1))[:, -self.size:].clone()
        if old is None:
            return None, None
        return old, old.new_full(old.shape[:2], self.weight)

    def reset(self) -> None:
        self.feats = None

    def state_dict(self) -> dict:
        return {} if self.feats is None else {"feats": self.feats}

    def load_state_dict(self, state: dict) -> None:
        self.feats = state.get("feats")


@register("negatives", "other_class")
class other_class(Negatives):
    """Real samples of the other groups (classes) as negatives, ``per_class`` of each."""

    needs = ("classes",)

    def __init__(self, per_class: int | None = None, weight: float = 1.0):
        if per_class is not None and (int(per_class) != per_class or per_class < 1):
            raise ValueError(f"other_class.per_class must be None or >= 1, got {per_class}")
        if not weight >= 0 or not math.isfinite(weight):
            raise ValueError(f"other_class.weight must be finite and >= 0, got {weight}")
        self.per_class, self.weight = per_class, float(weight)

    def __call__(self, gen, step: int, *, alpha=None, pos=None, uncond=None, generator=None):
        if pos is None or pos.dim() != 3 or pos.shape[0] < 2:
            raise ValueError("other_class needs the per-class positives pos [B, P, D] with B >= 2 "
                             f"groups, got {None if pos is None else tuple(pos.shape)}")
        b, p, d = pos.shape
        k = p if self.per_class is None else int(self.per_class)
        if k > p:
            raise ValueError(f"other_class.per_class={k} exceeds the {p} positives per class")
        if k < p:  # a random subset per group when a generator is given, else the first k
            idx = (torch.stack([torch.randperm(p, generator=generator, device=generator.device)[:k]
                                for _ in range(b)]).to(pos.device)
                   if generator is not None else torch.arange(k, device=pos.device).expand(b, k))
            pos = torch.gather(pos, 1, idx[..., None].expand(b, k, d))
        others = ~torch.eye(b, dtype=torch.bool, device=pos.device)          # [B, B]
        neg = pos[None].expand(b, b, k, d)[others].reshape(b, (b - 1) * k, d)
        return neg, neg.new_full((b, (b - 1) * k), self.weight)


def check_supported(strategy: Negatives, dataset) -> None:
    """ValueError before training when ``strategy`` needs class labels the dataset lacks.

    A class-conditional dataset says so with ``conditional = True``; the toys are unconditional.
    """
    if strategy.needs and not getattr(dataset, "conditional", False):
        name = name_of(strategy)
        needs = " and ".join(strategy.needs)
        raise ValueError(
            f"train.negatives = @{name}() needs a class-conditional dataset ({needs} per step), "
            f"but dataset '{getattr(dataset, 'name', dataset)}' is unconditional; use "
            f"train.negatives = @self() or @queue() on it")
