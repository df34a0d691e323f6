"""``webdataset`` (kind "dataset"): WebDataset tar shards streamed into per-class sample banks.

The shards are written by ``tools/make_shards.py`` (``<key>.jpg`` + ``<key>.cls``, optional
``<key>.npy`` latents, a ``manifest.json``) and read by ``zoo.data.shards.WebLoader`` (shard
split by rank / worker, CPU or GPU decode, corrupt-sample accounting). The loader feeds
``zoo.positives.rings.SampleBanks``, the release's positive source (lambertae/drifting ``memory_bank.py``):
every ``sample`` / ``sample_class`` call first

    pushes >= push_per_call streamed images into per-class rings of ``per_class`` slots
    and one global ring of ``global_size``,

then draws from the rings with the caller's generator only (rows [n, dim], uint8 images mapped
to [-1, 1]). The first call prefills until every class ring holds an item. ``held_out`` reads
``val_urls`` (or, without them, the first shard, which then leaves training) in file order,
centre-cropped, no flip. ``size`` and the classes default to the shards' ``manifest.json``;
``field="npy"`` trains on the stored latents [c, h, w] instead of the images [3, S, S]; such a
dataset carries the autoencoder that made them as ``autoencoder`` (``webdataset.autoencoder``,
else rebuilt from the manifest by ``zoo.autoencoders.decoded.from_manifest``), so samples.png,
``drift-zoo sample --png_dir`` and the image metrics decode latents back to images.
``evaluator`` names the committed evaluator whose features score the run (e.g. ``'shapes'``
for shards made from the shapes dataset, as the miniature ImageNet is); None: the generic metrics.

Checkpoint (exact resume, ``zoo.run.state.State``): ``state_dict()`` = {"batches": number of
streamed batches pushed so far}; ``load_state_dict`` restarts the stream from its seed and
replays that many batches into fresh banks, so stream position *and* banks are those of the
uninterrupted run (the banks are not stored: at ImageNet scale, 1000 classes x 64 slots of
3 x 256 x 256 bytes, they would be 12 GB; the price is re-reading the consumed stream once on
resume). Exact with any ``num_workers`` for the same (seed, num_workers, world size): every
worker's shard order, shuffle buffer and crops are seeded by (seed, epoch, rank, worker) and the
DataLoader returns worker batches in a fixed round-robin order. Under DDP every rank replays
the count rank 0 saved, which is its own count unless GPU decode failures dropped rows on some
rank (then that rank's stream differs after resume).

    ds = build("dataset", "webdataset", urls="/data/shards/train", val_urls="/data/shards/val")
"""
from __future__ import annotations

import numpy as np
import torch

from zoo.data import HELD_OUT_SEED, Dataset
from zoo.data.shards import WebLoader, expand_urls, read_manifest
from zoo.registry import register


def split_held_out(urls, val_urls) -> tuple[list[str], list[str]]:
    """(training shards, held-out shards): ``val_urls``, else the first shard held out."""
    train = expand_urls(urls)
    if val_urls is not None:
        return train, expand_urls(val_urls)
    if len(train) < 2:
        raise ValueError(f"webdataset: {urls!r} is a single shard, so none is left to hold out; "
                         f"pass val_urls (e.g. shards of ImageNet val) or write several shards")
    return train[1:], train[:1]


def class_draw(banks, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """[n, *item] bank items of class labels[i]: per distinct class, its requests are distinct
    slots while the ring holds enough (``SampleBanks.sample``, without replacement)."""
    labels = torch.as_tensor(labels, dtype=torch.long).cpu()
    classes, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    draws = banks.sample(classes, int(counts.max()), generator)        # [U, m, *item]
    order = torch.sort(inverse, stable=True).indices
    first = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(labels)
    rank[order] = torch.arange(len(labels)) - first[inverse[order]]
    return draws[inverse.to(draws.device), rank.to(draws.device)]


def latent_decoder(field: str, autoencoder, manifest: dict, urls):
    """The autoencoder that decodes latent rows (field "npy"): the one given, else the one the
    manifest names; None for images."""
    if field != "npy":
        if autoencoder is not None:
            raise ValueError("webdataset.autoencoder decodes stored latents: set it only with "
                             "webdataset.field = 'npy'")
        return None
    if autoencoder is not None:
        return autoencoder
    from zoo.autoencoders.decoded import from_manifest
    return from_manifest(manifest.get("latents") or {}, str(urls))


@register("dataset", "webdataset")
class webdataset(Dataset):
    """Streamed shards behind sample banks (module doc). ``size`` and the classes default to the
    shards' ``manifest.json``; ``field="npy"`` trains on the stored latents."""

    needs_args = ("urls",)

    def __init__(self, urls, val_urls=None, size: int | None = None, batch_size: int = 64,
                 num_workers: int = 2, device: str = "auto", seed: int = 0,
                 shuffle_buffer: int = 1000, resample: bool = False, crop_scale=(0.8, 1.0),
                 flip: bool = True, per_class: int = 64, global_size: int = 512,
                 push_per_call: int | None = None, prefill_limit: int | None = None,
                 max_corrupt_fraction: float = 0.01, field: str = "jpg",
                 num_classes: int | None = None, conditional: bool = True, autoencoder=None,
                 evaluator: str | None = None):
        train, self.val_urls = split_held_out(urls, val_urls)
        manifest = read_manifest(train) or {}
        self.size = int(size or manifest.get("size") or 0)
        k = num_classes or manifest.get("num_classes")
        if not k or (field == "jpg" and not self.size):
            raise ValueError(f"webdataset: no manifest.json next to {train[0]} to read the "
                             f"{'image size' if k else 'number of classes'} from; pass size= and "
                             f"num_classes= (or write the shards with tools/make_shards.py)")
        self.class_names = manifest.get("classes", [str(c) for c in range(int(k))])
        self.field, self.k = field, int(k)
        if field == "npy":
            self.shape = tuple(manifest["latents"]["shape"])
        else:
            self.shape = (3, self.size, self.size)
        self.autoencoder = latent_decoder(field, autoencoder, manifest, urls)
        self.evaluator = evaluator  # a committed evaluator's name (results/evaluators/<name>.pt)
        self.dim = int(np.prod(self.shape))
        self.conditional = bool(conditional)
        self.num_classes = self.k if self.conditional else None
        self.loader = WebLoader(train, size=self.size or 1, batch_size=batch_size,
                                num_workers=num_workers, device=device, seed=seed,
                                shuffle_buffer=shuffle_buffer, resample=resample,
                                crop_scale=crop_scale, flip=flip, field=field, uint8=True,
                                max_corrupt_fraction=max_corrupt_fraction)
        dtype = torch.float32 if field == "npy" else torch.uint8
        from zoo.positives.rings import SampleBanks
        self.banks = SampleBanks(self.k, per_class, global_size, self.shape, dtype,
                                 self.loader.device)
        self.push_per_call = int(push_per_call or batch_size)
        self.prefill_limit = int(prefill_limit or max(10_000, 50 * self.k))
        self.seed, self._stream, self._held, self._batches = seed, None, None, 0

    # ------------------------------------------------------------------ streaming into the banks

    def _pull(self) -> int:
        """Push one streamed batch into the banks; returns its size."""
        if self._stream is None:
            self._stream = iter(self.loader)
        try:
            x, labels = next(self._stream)
        except StopIteration:
            raise ValueError("webdataset: the shard stream ended; it should be endless") from None
        self.banks.push(x, labels)
        self._batches += 1
        return len(labels)

    def _prefill(self) -> None:
        """Stream until every class ring holds an item (``prefill_limit`` images at most)."""
        pulled = 0
        while bool((self.banks.count == 0).any()) and pulled < self.prefill_limit:
            pulled += self._pull()
        missing = (self.banks.count == 0).nonzero().flatten().tolist()
        if missing:
            names = [self.class_names[c] for c in missing[:5]]
            raise ValueError(f"webdataset: no image of class(es) {names} (of {len(missing)} "
                             f"missing) in the first {pulled} streamed; are the shards missing "
                             f"them, or is num_classes wrong? Raise prefill_limit if they are rare")

    def _step(self) -> None:
        """Before a draw: prefill once, then push >= ``push_per_call`` new images."""
        if self._stream is None:
            self._prefill()
        pushed = 0
        while pushed < self.push_per_call:
            pushed += self._pull()

    def _rows(self, x: torch.Tensor, device) -> torch.Tensor:
        """Bank items [n, *shape] -> [n, dim] float rows (uint8 images -> [-1, 1]) on device."""
        x = x.to(device).reshape(len(x), self.dim)
        return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x.float()

    # ------------------------------------------------------------------ checkpoint

    def state_dict(self) -> dict:
        """{"batches": streamed batches pushed into the banks so far} (module doc)."""
        return {"batches": self._batches}

    def load_state_dict(self, state: dict) -> None:
        """Restart the stream and replay ``state["batches"]`` batches into emptied banks, so the
        next draw is the uninterrupted run's (module doc)."""
        self.close()
        self.banks.load_state_dict({k: torch.zeros_like(v) for k, v in
                                    self.banks.state_dict().items()})
        self._batches = 0
        for _ in range(int(state.get("batches", 0))):
            self._pull()

    # ------------------------------------------------------------------ the protocol

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, dim] rows from the global ring (after streaming a batch in); only ``generator``."""
        self._step()
        return self._rows(self.banks.sample_global(n, generator), generator.device)

    def sample_class(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[n, dim] rows of class labels[i] from the class rings (after streaming a batch in)."""
        if not self.conditional:
            return super().sample_class(labels, generator)
        self._step()
        return self._rows(class_draw(self.banks, labels, generator), generator.device)

    def held_pool(self, n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` (None: all) held-out samples in file order, centre-cropped, cached:
        ([m, *shape], labels [m]) on the CPU, m <= n."""
        stale = self._held is not None and self._held[2] and (n is None or len(self._held[0]) < n)
        if self._held is None or stale:
            loader = WebLoader(self.val_urls, size=self.size or 1, batch_size=256, num_workers=0,
                               device="cpu", shuffle=False, epochs=1, random_crop=False,
                               flip=False, field=self.field, uint8=True, min_seen=10**9,
                               rank=0, world_size=1)  # every rank sees the whole held-out set
            xs, ys = [], []
            for x, y in loader:
                xs.append(x)
                ys.append(y)
                if n is not None and sum(map(len, ys)) >= n:
                    break
            loader.close()
            if not ys:
                raise ValueError(f"webdataset: no readable held-out sample in {self.val_urls[:3]}")
            truncated = n is not None and sum(map(len, ys)) >= n
            self._held = (torch.cat(xs), torch.cat(ys), truncated)
        return self._held[0], self._held[1]

    def held_out(self, n: int) -> torch.Tensor:
        """[n, dim] held-out rows, fixed: the first n in file order (cycled when fewer)."""
        x, _ = self.held_pool(n)
        if len(x) < n:
            pick = torch.randint(len(x), (n,), generator=torch.Generator().manual_seed(
                HELD_OUT_SEED + n))
            x = x[pick]
        return self._rows(x[:n], "cpu")

    def held_out_class(self, labels: torch.Tensor) -> torch.Tensor:
        """[n, dim] held-out rows of class labels[i] (the whole held-out set is read once)."""
        from zoo.data.digits import ClassTable
        x, y = self.held_pool(None)
        table = ClassTable(y, self.k, "webdataset (held out)")
        return self._rows(x[table.fixed(labels, HELD_OUT_SEED + len(labels))], "cpu")

    def close(self) -> None:
        """Stop the streaming DataLoader and its workers."""
        self._stream = None
        self.loader.close()

    def __repr__(self) -> str:
        return (f"webdataset(shards={len(self.loader.urls)}, held_out_shards={len(self.val_urls)}, "
                f"classes={self.k}, shape={self.shape}, device={self.loader.device})")
