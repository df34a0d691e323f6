"""torch.distributed for the trainer: one process per device under ``torchrun``, no-ops alone.

    torchrun --standalone --nproc_per_node N tools/train.py --gin_file ...

``setup()`` reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) and
initialises the default process group: backend ``nccl`` when CUDA is available (device
cuda:LOCAL_RANK), ``gloo`` otherwise (CPU; what the tests use). Without WORLD_SIZE > 1 nothing is
initialised and every helper below is the identity (rank 0 of 1): a single process computes
exactly what it computed before this module existed (no collective, no copy, the same tensors).

How the trainer uses it (zoo.run.train, zoo.run.batches, zoo.drift, zoo.fields.streaming): every rank draws the
same global step from the same checkpointed RNG streams and keeps its contiguous block of the
classes (``block``); the generator is wrapped in DistributedDataParallel (gradients averaged);
the drift's global reductions (the feature scale, the per-temperature force RMS) are averaged
over ranks with ``mean``, so the result does not depend on the world size; rank 0 writes.

The process-group timeout is ``TIMEOUT`` (60 min): other ranks wait in a collective while rank 0
evaluates, which on ImageNet can take longer than the backends' 10-30 min defaults.
"""
from __future__ import annotations

import datetime
import gc
import os

import torch

TIMEOUT = datetime.timedelta(minutes=60)


def available() -> bool:
    """Whether a process group is initialised (i.e. this is a multi-process run)."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def setup() -> tuple[int, int]:
    """Initialise the process group from torchrun's environment once; returns (rank, world).

    A single process (no WORLD_SIZE, or WORLD_SIZE = 1) initialises nothing: (0, 1).
    """
    if available():
        return rank(), world()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
    return rank(), world()


def cleanup() -> None:
    """Destroy the process group (after a final barrier); nothing in a single process.

    Call it once the DDP wrapper is out of reach: ``gc.collect()`` frees it here, while the
    interpreter is whole. A wrapper left to the collector at exit keeps the group's worker
    threads alive into finalization, where one dropping its last tensor aborts the process
    (SIGABRT, "terminate called without an active exception"; torch 2.14, gloo).
    """
    if available():
        gc.collect()
        barrier()
        torch.distributed.destroy_process_group()


def rank() -> int:
    return torch.distributed.get_rank() if available() else 0


def world() -> int:
    return torch.distributed.get_world_size() if available() else 1


def is_main() -> bool:
    """Rank 0: the one process that writes files and evaluates."""
    return rank() == 0


def device() -> torch.device:
    """Where this rank computes: cuda:LOCAL_RANK when CUDA is available, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def barrier() -> None:
    if available():
        torch.distributed.barrier()


def mean(t: torch.Tensor) -> torch.Tensor:
    """The average of ``t`` over ranks (a new tensor); ``t`` itself in a single process."""
    if not available():
        return t
    out = t.detach().clone()
    torch.distributed.all_reduce(out)
    return out / world()


def mean_stats(stats: dict) -> dict:
    """Float stats averaged over ranks (one all-reduce); the dict itself in a single process.

    Every rank must hold the same keys (they do: the same code on equal shares of the step).
    """
    if not available() or not stats:
        return stats
    keys = sorted(stats)
    avg = mean(torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64,
                            device=_collective_device()))
    return dict(zip(keys, avg.tolist()))


def any_rank(flag: bool) -> bool:
    """True when ``flag`` is true on any rank (a stop signal, a diverged generator)."""
    if not available():
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=_collective_device())
    torch.distributed.all_reduce(t)
    return bool(t.item() > 0)


def _collective_device() -> torch.device:
    """nccl reduces CUDA tensors only; gloo CPU ones."""
    return device() if torch.distributed.get_backend() == "nccl" else torch.device("cpu")


def block(n: int) -> slice:
    """This rank's contiguous share of ``n`` groups: [r n / W, (r + 1) n / W).

    ValueError unless W divides n (equal shares make DDP's gradient average the global mean).
    """
    r, w = rank(), world()
    if n % w:
        raise ValueError(f"{n} groups (classes per step) cannot be split evenly over {w} "
                         f"processes; set train.classes_per_step to a multiple of {w} or launch "
                         f"torchrun with a --nproc_per_node that divides it")
    k = n // w
    return slice(r * k, (r + 1) * k)


class OnDevice(torch.nn.Module):
    """A generator on an accelerator seen from the CPU: inputs (noise, labels, alpha) go to its
    device, samples come back to the CPU; ``noise`` and every other attribute are the
    generator's. Lets the CPU-side evaluation (``zoo.run.evaluation.assess``) sample a CUDA model."""

    def __init__(self, module: torch.nn.Module, where: torch.device):
        super().__init__()
        self.module, self.where = module, where

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)

    def forward(self, z, labels=None, alpha=None):
        if labels is None and alpha is None:
            return self.module(to(z, self.where)).cpu()
        return self.module(to(z, self.where), to(labels, self.where), to(alpha, self.where)).cpu()


def to(t, where: torch.device):
    """A tensor, a tuple of them (noise of image generators: image, style indices) or None on
    ``where`` (the same tensors when already there)."""
    if t is None:
        return None
    return tuple(to(u, where) for u in t) if isinstance(t, tuple) else t.to(where)


def ddp(model: torch.nn.Module) -> torch.nn.Module:
    """DistributedDataParallel(model) under torchrun, else the model itself. The EMA and the
    checkpoint use the unwrapped model (no ``module.`` prefix: loads in any world size)."""
    if world() == 1:
        return model
    where = next(model.parameters()).device
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[where.index] if where.type == "cuda" else None)


SHARDABLE_NEGATIVES = ("self", "cfg")  # no state and no coupling across groups


def check_split(conditional: bool, dataset: str, negatives: str) -> None:
    """ValueError before training when a run cannot be split over ``world()`` ranks: the
    trainer splits each step's classes, so the data must be class-conditional and the negatives
    strategy must not couple groups (``SHARDABLE_NEGATIVES``)."""
    w = world()
    if w == 1:
        return
    if not conditional:
        raise ValueError(f"distributed training ({w} processes) splits each step's classes over "
                         f"the processes, and dataset '{dataset}' is unconditional: its "
                         f"one drift group couples every sample, so splitting it would change the "
                         f"field. Use class-conditional data or run one process")
    if negatives not in SHARDABLE_NEGATIVES:
        raise ValueError(f"train.negatives = @{negatives}() cannot be split over {w} processes "
                         f"(its state or negatives span groups on other ranks); use one of "
                         f"{list(SHARDABLE_NEGATIVES)} or run one process")
