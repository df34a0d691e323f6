"""Shard lists: which tar shards one (rank, DataLoader worker) reads in an epoch, in what order.

URLs (``tools/make_shards.py`` output) are a folder (its ``*.tar``), globs, brace ranges
``shard-{000000..000099}.tar`` (``braceexpand``), ``::``-joined lists or a Python list. Per
epoch e, with rank / world from ``torch.distributed`` and worker / workers from
``torch.utils.data.get_worker_info``:

    shards = permutation(all, seed, e)[rank::world][worker::workers]          (disjoint)
    or, resample=True: len(all) / (world workers) draws with replacement from a stream
    seeded by (seed, e, rank, worker)           (like ``webdataset.ResampledShards``)

Samples then pass a shuffle buffer of ``bufsize`` items (``webdataset.shuffle``-like): each
output is a uniform pick of the buffer. Every random choice is a ``random.Random`` seeded by a
string of those numbers, so a run is repeatable for a fixed (seed, world, workers) layout.
"""
from __future__ import annotations

import glob
import json
import os
import random

import torch


def expand_urls(urls) -> list[str]:
    """Shard URLs from a folder (its ``*.tar``), globs, brace ranges, ``::`` lists or a list."""
    if isinstance(urls, (list, tuple)):
        return [u for part in urls for u in expand_urls(part)]
    out = []
    for part in str(urls).split("::"):
        if os.path.isdir(part):
            found = sorted(glob.glob(os.path.join(part, "*.tar")))
        elif any(c in part for c in "*?["):
            found = sorted(glob.glob(part))
        else:
            import braceexpand
            found = list(braceexpand.braceexpand(part))
        out += found
    if not out:
        raise FileNotFoundError(f"webdataset: no shards match {urls!r}; make them with "
                                f"tools/make_shards.py --src IMAGES --out FOLDER")
    return out


def read_manifest(urls: list[str]) -> dict | None:
    """The ``manifest.json`` next to the first shard (make_shards writes it), else None."""
    path = os.path.join(os.path.dirname(urls[0]), "manifest.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def dist_info(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(rank, world size): the arguments, else torch.distributed when initialised, else (0, 1)."""
    if rank is not None and world_size is not None:
        return int(rank), int(world_size)
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def worker_info() -> tuple[int, int]:
    """(worker id, number of workers) of the current DataLoader worker; (0, 1) in the main process."""
    info = torch.utils.data.get_worker_info()
    return (0, 1) if info is None else (info.id, info.num_workers)


def epoch_shards(urls: list[str], epoch: int, seed: int, rank: int, world: int, worker: int,
                 workers: int, resample: bool = False, shuffle: bool = True) -> list[str]:
    """The shards one (rank, worker) reads in ``epoch`` (module doc); disjoint unless resampled;
    ``shuffle=False``: in the given order."""
    if resample:
        rng = random.Random(f"resample/{seed}/{epoch}/{rank}/{worker}")
        return [rng.choice(urls) for _ in range(max(1, len(urls) // (world * workers)))]
    order = list(urls)
    if shuffle:
        random.Random(f"shards/{seed}/{epoch}").shuffle(order)
    return order[rank::world][worker::workers]


def shuffled(items, bufsize: int, rng: random.Random):
    """Yield ``items`` through a buffer of ``bufsize``: each output is a uniform pick of it
    (``bufsize`` <= 1: in order)."""
    if bufsize <= 1:
        yield from items
        return
    buf = []
    for item in items:
        if len(buf) < bufsize:
            buf.append(item)
            continue
        j = rng.randrange(bufsize)
        buf[j], item = item, buf[j]
        yield item
    rng.shuffle(buf)
    yield from buf
