"""The main-process side of the shard loader: ``WebLoader``, batches ``(x, labels)`` on a device.

    loader = WebLoader("/data/shards/train", size=64, batch_size=256, num_workers=8)
    for x, y in loader: ...                          # forever (epochs=None); loader.close()

A ``torch.utils.data.DataLoader`` (``batch_size=None``) runs ``ShardStream`` (``stream.py``) in
``num_workers`` workers; each worker batch is finished here:

    device="cpu"  : worker-decoded [B, 3, S, S] uint8 -> device
    device="cuda" : worker-checked JPEG bytes -> ``decode_gpu`` (nvJPEG + crop / resize / flip,
                    ``decode.py``) -> [B', 3, S, S] uint8 (B' <= B: failures dropped and counted)
    field="npy"   : the stored latents [B, c, h, w] float32, no augmentation
    then, unless uint8=True:  x = x / 127.5 - 1   in [-1, 1]

``device="auto"`` picks cuda when CUDA is available. ``seen`` / ``corrupt`` total the workers'
counts (their latest "stats") plus the GPU decode failures, which are checked against the same
``max_corrupt_fraction`` (``CorruptDataError``). Rank / world come from ``torch.distributed``
unless given (``urls.dist_info``).
"""
from __future__ import annotations

import random

import torch

from zoo.data.shards.decode import Augment, decode_gpu
from zoo.data.shards.stream import Corruption, ShardStream
from zoo.data.shards.urls import dist_info, expand_urls


def resolve_device(device: str) -> torch.device:
    """"auto" -> cuda when available, else cpu; anything else as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class WebLoader:
    """Iterate ``(x, labels)`` batches from shards (module doc); ``close()`` stops the workers.

    ``x``: [B, 3, size, size] float in [-1, 1] (``uint8=True``: uint8 0..255) on ``device``, or
    latents [B, c, h, w] float32 with ``field="npy"``. ``epochs=None`` streams forever;
    ``shuffle=False`` reads the shards and their samples in order (evaluation).
    """

    def __init__(self, urls, size: int = 64, batch_size: int = 64, num_workers: int = 2,
                 device: str = "auto", seed: int = 0, shuffle_buffer: int = 1000,
                 resample: bool = False, epochs: int | None = None, random_crop: bool = True,
                 crop_scale=(0.8, 1.0), crop_ratio=(3 / 4, 4 / 3), flip: bool = True,
                 field: str = "jpg", uint8: bool = False, max_corrupt_fraction: float = 0.01,
                 min_seen: int = 100, rank: int | None = None, world_size: int | None = None,
                 draft: bool = True, prefetch_factor: int = 4, shuffle: bool = True):
        if field not in ("jpg", "npy"):
            raise ValueError(f"WebLoader.field must be 'jpg' or 'npy', got {field!r}")
        self.urls, self.device = expand_urls(urls), resolve_device(device)
        self.num_workers, self.uint8, self.prefetch_factor = int(num_workers), uint8, prefetch_factor
        rank, world = dist_info(rank, world_size)
        mode = "npy" if field == "npy" else ("bytes" if self.device.type == "cuda" else "cpu")
        self.aug = Augment(size, random_crop, crop_scale, crop_ratio, flip)
        self.stream = ShardStream(self.urls, mode=mode, aug=self.aug, batch_size=batch_size,
                                  seed=seed, shuffle_buffer=shuffle_buffer, resample=resample,
                                  epochs=epochs, rank=rank, world=world, draft=draft,
                                  shuffle=shuffle,
                                  max_corrupt_fraction=max_corrupt_fraction, min_seen=min_seen)
        self.gpu = Corruption(max_corrupt_fraction, min_seen)  # GPU decode failures (main side)
        self.gpu_rng = random.Random(f"gpu/{seed}/{rank}")
        self.stats: dict[int, dict] = {}
        self.last_keys: list[str] = []
        self._active = None

    @property
    def seen(self) -> int:
        """Samples read so far (all workers; corrupt ones included)."""
        return sum(s["seen"] for s in self.stats.values())

    @property
    def corrupt(self) -> int:
        """Corrupt samples skipped so far (all workers, plus GPU decode failures)."""
        return sum(s["corrupt"] for s in self.stats.values()) + self.gpu.corrupt

    def gpu_failed(self, failed: dict[int, str], keys: list[str]) -> None:
        """Count GPU decode failures; check the corrupt fraction over all samples seen."""
        for i, why in failed.items():
            self.gpu.corrupt += 1
            if len(self.gpu.examples) < 5:
                self.gpu.examples.append(f"key {keys[i]}: {why}")
        if failed:
            total = Corruption(self.gpu.max_fraction, self.gpu.min_seen)
            total.seen, total.corrupt, total.examples = self.seen, self.corrupt, self.gpu.examples
            total.check(f"(GPU decode, key {keys[next(iter(failed))]})")

    def dataloader(self) -> torch.utils.data.DataLoader:
        workers = self.num_workers
        return torch.utils.data.DataLoader(
            self.stream, batch_size=None, num_workers=workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=self.prefetch_factor if workers else None,
            persistent_workers=False)

    def finish(self, item: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Worker output -> (x on device, labels on device): GPU decode, [-1, 1] scaling."""
        labels = item["labels"]
        if "bytes" in item:
            flat, off = item["bytes"], item["offsets"].tolist()
            datas = [flat[off[i]:off[i + 1]] for i in range(len(off) - 1)]
            x, keep, failed = decode_gpu(datas, self.aug, self.gpu_rng, self.device)
            labels = labels[keep]
            self.gpu_failed(failed, item["keys"])
        else:
            x = item["x"].to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8 and not self.uint8:
            x = x.float().div_(127.5).sub_(1.0)
        return x, labels

    def __iter__(self):
        self.close()
        self._active = self._batches()
        return self._active

    def _batches(self):
        it = iter(self.dataloader())
        try:
            for item in it:
                self.stats[item["stats"]["worker"]] = item["stats"]
                self.last_keys = item["keys"]
                yield self.finish(item)
        finally:
            shutdown = getattr(it, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()

    def close(self) -> None:
        """Stop the current iteration and its DataLoader workers (idempotent)."""
        if self._active is not None:
            self._active.close()
            self._active = None

    def __enter__(self) -> "WebLoader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
