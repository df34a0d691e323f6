"""The worker side of the shard loader: tar samples -> decoded, counted, collated batches.

Inside each DataLoader worker (``ShardStream.__iter__``), per epoch e:

    shards  = epoch_shards(urls, e, seed, rank, world, worker, workers)    (``urls.py``)
    samples = shuffled(tar members grouped by key, shuffle_buffer)   (``wds.tarfile_samples``)
    items   = decode(sample) for each sample, skipping and counting the corrupt ones
    batch   = collate(batch_size items) -> dict (``ShardStream`` doc for the modes and shapes)

Corrupt samples (undecodable or truncated JPEG, missing or bad ``.cls``, unreadable tar) are
counted by ``Corruption``: once ``min_seen`` samples were seen,

    corrupt > max_corrupt_fraction * seen    raises ``CorruptDataError`` naming the shard.

Each batch carries the worker's running counts ("stats"), so the main process (``loader.py``)
can total them over workers.
"""
from __future__ import annotations

import io
import random

import numpy as np
import torch

from zoo.data.shards.decode import Augment, check_jpeg, decode_cpu, parse_label
from zoo.data.shards.urls import epoch_shards, shuffled, worker_info


class CorruptDataError(ValueError):
    """More than ``max_corrupt_fraction`` of the samples seen were corrupt."""


class Corruption:
    """Counts seen / corrupt samples; ``bad`` raises CorruptDataError past the allowed fraction."""

    def __init__(self, max_fraction: float = 0.01, min_seen: int = 100):
        self.max_fraction, self.min_seen = float(max_fraction), int(min_seen)
        self.seen = self.corrupt = 0
        self.examples: list[str] = []

    def ok(self) -> None:
        self.seen += 1

    def bad(self, where: str, why: str) -> None:
        self.seen += 1
        self.corrupt += 1
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {why}")
        self.check(where)

    def check(self, where: str) -> None:
        if self.seen >= self.min_seen and self.corrupt > self.max_fraction * self.seen:
            raise CorruptDataError(
                f"webdataset: {self.corrupt} of {self.seen} samples are corrupt (more than "
                f"max_corrupt_fraction={self.max_fraction}); last in shard {where}; e.g. "
                f"{self.examples}. Rewrite the shards (tools/make_shards.py) or raise "
                f"max_corrupt_fraction")



class ShardStream(torch.utils.data.IterableDataset):
    """Batches as dicts, made inside each DataLoader worker (module doc for the stages).

    ``mode``: "cpu" -> {"x": [B, 3, S, S] uint8}; "bytes" -> {"bytes": [sum n_i] uint8,
    "offsets": [B + 1] int64} (JPEGs for the GPU); "npy" -> {"x": [B, c, h, w] float32}; each
    also has "labels" [B] int64, "keys" [B] and "stats" (worker, seen, corrupt, examples).
    """

    def __init__(self, urls: list[str], *, mode: str, aug: Augment, batch_size: int, seed: int,
                 shuffle_buffer: int, resample: bool, epochs: int | None, rank: int, world: int,
                 max_corrupt_fraction: float, min_seen: int, draft: bool = True,
                 shuffle: bool = True):
        super().__init__()
        self.urls, self.mode, self.aug, self.batch_size = list(urls), mode, aug, int(batch_size)
        self.seed, self.shuffle_buffer, self.resample = int(seed), int(shuffle_buffer), resample
        self.epochs, self.rank, self.world, self.draft = epochs, rank, world, draft
        self.shuffle = bool(shuffle)
        self.max_corrupt_fraction, self.min_seen = max_corrupt_fraction, min_seen

    def samples(self, epoch: int, worker: int, workers: int, counter: Corruption):
        """Raw, shuffled tar samples (dicts) of this worker's shards in ``epoch``."""
        import webdataset as wds
        shards = epoch_shards(self.urls, epoch, self.seed, self.rank, self.world, worker,
                              workers, self.resample, self.shuffle)
        if not shards:
            raise ValueError(
                f"webdataset: rank {self.rank} worker {worker} got no shard: {len(self.urls)} "
                f"shards for {self.world} ranks x {workers} workers. Write more, smaller shards "
                f"(make_shards --max-per-shard), use fewer workers, or pass resample=True")

        def handler(err: Exception) -> bool:
            counter.bad(str(err.args[-1]) if err.args else "?", f"unreadable tar: {err}")
            return True

        raw = wds.tarfile_samples([{"url": u} for u in shards], handler=handler)
        rng = random.Random(f"buffer/{self.seed}/{epoch}/{self.rank}/{worker}")
        return shuffled(raw, self.shuffle_buffer if self.shuffle else 0, rng)

    def decode(self, sample: dict, rng: random.Random):
        """(x, label) of one sample: decoded uint8 image, checked JPEG bytes or latent."""
        label = parse_label(sample)
        if self.mode == "npy":
            return torch.from_numpy(np.load(io.BytesIO(sample["npy"]))).float(), label
        data = sample["jpg"] if "jpg" in sample else sample.get("jpeg")
        if data is None:
            raise KeyError("missing .jpg")
        if self.mode == "bytes":
            check_jpeg(data)
            return torch.frombuffer(bytearray(data), dtype=torch.uint8), label
        return decode_cpu(data, self.aug, rng, self.draft), label

    def collate(self, items: list, counter: Corruption, worker: int) -> dict:
        xs, labels, keys = zip(*items)
        out = {"labels": torch.tensor(labels, dtype=torch.long), "keys": list(keys),
               "stats": {"worker": worker, "seen": counter.seen, "corrupt": counter.corrupt,
                         "examples": list(counter.examples)}}
        if self.mode == "bytes":
            sizes = torch.tensor([0] + [len(x) for x in xs])
            out.update(bytes=torch.cat(xs), offsets=torch.cumsum(sizes, 0))
        else:
            out["x"] = torch.stack(xs)
        return out

    def __iter__(self):
        worker, workers = worker_info()
        counter = Corruption(self.max_corrupt_fraction, self.min_seen)
        rng = random.Random(f"augment/{self.seed}/{self.rank}/{worker}")
        epoch, items = 0, []
        while self.epochs is None or epoch < self.epochs:
            for sample in self.samples(epoch, worker, workers, counter):
                where = f"{sample.get('__url__')} key {sample.get('__key__')}"
                try:
                    x, label = self.decode(sample, rng)
                except Exception as err:  # noqa: BLE001 - any bad sample: skip and count
                    counter.bad(where, f"{type(err).__name__}: {err}")
                    continue
                counter.ok()
                items.append((x, label, sample["__key__"]))
                if len(items) == self.batch_size:
                    yield self.collate(items, counter, worker)
                    items = []
            epoch += 1
        if items:
            yield self.collate(items, counter, worker)
