"""Sample banks: per-class ring buffers of real samples plus a global (unconditional) one.

The release's positive source (lambertae/drifting, ``memory_bank.py`` ``ArrayMemoryBank`` and the
loop of ``train.py``): every step, real batches are *pushed* (at least ``push_per_step`` items)
into a per-class bank of ``positive_bank_size`` = 64 slots per class and into a one-class bank of
``negative_bank_size`` = 512 slots (labels * 0: the unconditional real samples of CFG); then each
selected class draws ``pos_per_sample`` positives from its own ring and every class
``neg_per_sample`` unconditional samples from the global ring. So any class gets positives at
once, without a class-balanced data loader.

Semantics kept from ``ArrayMemoryBank``:

    push:    item i of class c goes to slot ptr[c]; ptr[c] = (ptr[c] + 1) mod S;
             count[c] = min(count[c] + 1, S)       (in batch order: later items overwrite older)
    sample:  n slot indices uniform among the count[c] filled slots (slots 0..count[c]-1, which
             are the filled ones, full or not), WITHOUT replacement when count[c] >= n, WITH
             replacement when count[c] < n (a bank that is not yet full still answers).

Differences: sampling uses the ``torch.Generator`` it is given (the release uses numpy's global
RNG), the state is checkpointable (``state_dict`` / ``load_state_dict``: buffers, pointers and
counts, so a resumed run draws bit-identical samples; the release instead refills with
``push_at_resume`` x ``push_per_step`` items at resume), and sampling an empty class raises
(the release silently returns zeros, the unfilled slot 0). Shapes: items [N, *item_shape],
labels [N] int64; ``sample(classes [B], n)`` -> [B, n, *item_shape]; ``sample_global(n)`` ->
[n, *item_shape]. Buffers live on ``device`` with ``dtype`` (e.g. uint8 for images).
"""
from __future__ import annotations

import torch


def _ring_slots(labels: torch.Tensor, ptr: torch.Tensor, size: int, k: int):
    """(keep [M] item indices, slots [M]) for pushing ``labels`` [N] in order into rings of
    ``size``: item j of class c (its r-th in this batch) goes to (ptr[c] + r) mod size; only each
    class's last ``size`` items are kept, so every slot is written once (same end state as the
    sequential loop)."""
    n = len(labels)
    per = torch.bincount(labels, minlength=k)
    order = torch.sort(labels, stable=True)
    first = torch.cumsum(per, 0) - per
    rank = torch.empty(n, dtype=torch.long, device=labels.device)
    rank[order.indices] = torch.arange(n, device=labels.device) - first[order.values]
    keep = (rank >= per[labels] - size).nonzero().flatten()
    slots = (ptr[labels[keep]] + rank[keep]) % size
    return keep, slots, per


def _draw(count: torch.Tensor, size: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """[B, n] slot indices: rows with count >= n without replacement, else with replacement."""
    dev = generator.device
    keys = torch.rand(len(count), size, generator=generator, device=dev)
    u = torch.rand(len(count), n, generator=generator, device=dev)
    count = count.to(dev)
    keys = keys.masked_fill(torch.arange(size, device=dev)[None] >= count[:, None], 2.0)
    without = torch.argsort(keys, dim=1)[:, :n] if n <= size else None
    withrep = torch.minimum((u * count[:, None]).long(), (count[:, None] - 1).clamp(min=0))
    if without is None:
        return withrep
    return torch.where((count >= n)[:, None], without, withrep)


class SampleBanks:
    """``num_classes`` rings of ``per_class`` items and one global ring of ``global_size`` items,
    each item of shape ``item_shape``."""

    def __init__(self, num_classes: int, per_class: int = 64, global_size: int = 512,
                 item_shape: tuple[int, ...] = (), dtype: torch.dtype = torch.float32,
                 device: str | torch.device = "cpu"):
        for name, v in (("num_classes", num_classes), ("per_class", per_class),
                        ("global_size", global_size)):
            if int(v) != v or v < 1:
                raise ValueError(f"SampleBanks.{name} must be a positive integer, got {v}")
        self.num_classes, self.per_class = int(num_classes), int(per_class)
        self.global_size, self.item_shape = int(global_size), tuple(int(s) for s in item_shape)
        k, s, g = self.num_classes, self.per_class, self.global_size
        self.bank = torch.zeros(k, s, *self.item_shape, dtype=dtype, device=device)
        self.ptr = torch.zeros(k, dtype=torch.long, device=device)
        self.count = torch.zeros(k, dtype=torch.long, device=device)
        self.global_bank = torch.zeros(g, *self.item_shape, dtype=dtype, device=device)
        self.global_ptr = torch.zeros((), dtype=torch.long, device=device)
        self.global_count = torch.zeros((), dtype=torch.long, device=device)

    # ------------------------------------------------------------------ push

    def _labels(self, labels, what: str) -> torch.Tensor:
        labels = torch.as_tensor(labels, dtype=torch.long, device=self.bank.device)
        if labels.dim() != 1:
            raise ValueError(f"SampleBanks.{what}: labels must be [N], got {tuple(labels.shape)}")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if len(bad):
            raise ValueError(f"SampleBanks.{what}: unknown class(es) {sorted(set(bad.tolist()))}; "
                             f"classes are 0..{self.num_classes - 1}")
        return labels

    def push(self, items: torch.Tensor, labels, to_global: bool = True) -> None:
        """Append items [N, *item_shape] (detached) to their classes' rings and, unless
        ``to_global`` is False, to the global ring, in batch order."""
        labels = self._labels(labels, "push")
        items = torch.as_tensor(items).detach()
        if tuple(items.shape) != (len(labels), *self.item_shape):
            raise ValueError(f"SampleBanks.push: items have shape {tuple(items.shape)}, expected "
                             f"[{len(labels)}, *{self.item_shape}] (one item per label)")
        items = items.to(self.bank.device, self.bank.dtype)
        keep, slots, per = _ring_slots(labels, self.ptr, self.per_class, self.num_classes)
        self.bank[labels[keep], slots] = items[keep]
        self.ptr = (self.ptr + per) % self.per_class
        self.count = torch.clamp(self.count + per, max=self.per_class)
        if to_global:
            zero = torch.zeros_like(labels)
            keep, slots, _ = _ring_slots(zero, self.global_ptr.view(1), self.global_size, 1)
            self.global_bank[slots] = items[keep]
            self.global_ptr = (self.global_ptr + len(labels)) % self.global_size
            self.global_count = torch.clamp(self.global_count + len(labels), max=self.global_size)

    # ------------------------------------------------------------------ sample

    def sample(self, classes, n: int, generator: torch.Generator) -> torch.Tensor:
        """[len(classes), n, *item_shape] items of each class (module doc); only ``generator``."""
        classes = self._labels(classes, "sample")
        empty = sorted(set(classes[self.count[classes] == 0].tolist()))
        if empty:
            raise ValueError(f"SampleBanks.sample: no items of class(es) {empty[:10]} yet; push "
                             f"samples of every class before sampling (e.g. prefill the banks)")
        idx = _draw(self.count[classes], self.per_class, int(n), generator).to(self.bank.device)
        return self.bank[classes[:, None], idx]

    def sample_global(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, *item_shape] items of the global (unconditional) ring, only ``generator``."""
        if int(self.global_count) == 0:
            raise ValueError("SampleBanks.sample_global: the global bank is empty; push first")
        idx = _draw(self.global_count.view(1), self.global_size, int(n), generator)
        return self.global_bank[idx[0].to(self.bank.device)]

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """Buffers, pointers and counts: live tensors (like ``nn.Module.state_dict``; save or
        clone them before pushing again), loadable with ``weights_only=True``."""
        return {"bank": self.bank, "ptr": self.ptr, "count": self.count,
                "global_bank": self.global_bank, "global_ptr": self.global_ptr,
                "global_count": self.global_count}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; ValueError if it comes from banks of another layout."""
        missing = sorted(set(self.state_dict()) - set(state))
        if missing:
            raise ValueError(f"SampleBanks.load_state_dict: missing entries {missing}")
        for key, mine in self.state_dict().items():
            if tuple(state[key].shape) != tuple(mine.shape):
                raise ValueError(f"SampleBanks.load_state_dict: '{key}' has shape "
                                 f"{tuple(state[key].shape)}, these banks need {tuple(mine.shape)} "
                                 f"(num_classes, per_class, global_size, item_shape must match)")
        for key, mine in self.state_dict().items():
            setattr(self, key, state[key].to(mine.device, mine.dtype).clone())

    def __repr__(self) -> str:
        filled = int((self.count > 0).sum())
        return (f"SampleBanks(num_classes={self.num_classes}, per_class={self.per_class}, "
                f"global_size={self.global_size}, item_shape={self.item_shape}, "
                f"classes_with_items={filled}, global_items={int(self.global_count)})")
