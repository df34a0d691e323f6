"""WebDataset tar shards (``tools/make_shards.py``) as a streaming loader and as a dataset.

Loader (``WebLoader``): shard URLs (a folder, globs, brace ranges ``shard-{000000..000099}.tar``,
``::``-joined lists) -> batches ``(x [B, 3, S, S] float in [-1, 1], labels [B] int64)``:

    per epoch e:  shards = permutation(all, seed, e)[rank::world][worker::workers]   (disjoint)
                  or, with resample=True, len(all) / (world workers) draws with replacement
                  from a stream seeded by (seed, e, rank, worker) (``wds.ResampledShards``-like)
    samples    :  tar members <key>.jpg + <key>.cls (``webdataset.tarfile_samples``) -> a shuffle
                  buffer of ``shuffle_buffer`` samples seeded by (seed, e, rank, worker)
    decode     :  CPU (device="cpu"): Pillow in the DataLoader workers (JPEG ``draft`` downscaling)
                  -> random resized crop (area in ``crop_scale``, aspect in ``crop_ratio``) to S x S
                  (``torchvision.transforms.v2.functional.resized_crop``, bilinear, antialiased)
                  -> horizontal flip with p = 1/2;
                  GPU (device="cuda"): workers only check the bytes; the main process decodes each
                  batch with ``torchvision.io.decode_jpeg(device="cuda")`` (nvJPEG, batched) and
                  crops / resizes / flips on the GPU with the same box sampler.
                  ``device="auto"`` picks cuda when CUDA is available. ``field="npy"``: the
                  pre-encoded latents [B, c, h, w] float32 instead (no augmentation).

Rank / world come from ``torch.distributed`` when initialised (else 0 / 1, or the ``rank`` /
``world_size`` arguments); worker / workers from ``torch.utils.data.get_worker_info``. Every random
choice is seeded by ``seed`` and those four numbers, so a run is repeatable for a fixed layout.

Corrupt samples (undecodable or truncated JPEG, missing or bad ``.cls``, unreadable tar) are
skipped and counted (``WebLoader.corrupt`` / ``seen``). Once ``min_seen`` samples were seen, more
than ``max_corrupt_fraction`` of them corrupt raises ``CorruptDataError`` naming the shard.

Dataset (``webdataset``, kind "dataset"): the loader feeding ``zoo.banks.SampleBanks``, the
release's positive source (lambertae/drifting ``memory_bank.py``): every ``sample`` /
``sample_class`` call first pushes >= ``push_per_call`` streamed images into per-class rings of
``per_class`` slots and one global ring of ``global_size``, then draws from the rings with the
caller's generator. ``held_out`` reads ``val_urls`` (or, without them, the first shard, which then
leaves training) in file order, centre-cropped, no flip.

    loader = WebLoader("/data/shards/train", size=64, batch_size=256, num_workers=8)
    for x, y in loader: ...                          # forever (epochs=None); loader.close()
    ds = build("dataset", "webdataset", urls="/data/shards/train", val_urls="/data/shards/val")
"""
from __future__ import annotations

import glob
import io
import json
import math
import os
import random

import numpy as np
import torch

from zoo.data import HELD_OUT_SEED, Dataset
from zoo.registry import register


class CorruptDataError(ValueError):
    """More than ``max_corrupt_fraction`` of the samples seen were corrupt."""


# ----------------------------------------------------------------------------- shard lists

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


# ----------------------------------------------------------------------------- corruption

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


def parse_label(sample: dict) -> int:
    """The class index of a sample's ``.cls`` member (KeyError / ValueError if missing or bad)."""
    if "cls" not in sample:
        raise KeyError("missing .cls")
    return int(sample["cls"].decode("ascii").strip())


def check_jpeg(data: bytes) -> None:
    """ValueError unless ``data`` starts with the JPEG SOI and has an EOI marker near its end."""
    if data[:2] != b"\xff\xd8" or b"\xff\xd9" not in data[-64:]:
        raise ValueError("not a complete JPEG (no SOI / EOI marker)")


# ----------------------------------------------------------------------------- augmentation

def crop_box(h: int, w: int, scale, ratio, rng: random.Random | None) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a random resized crop (``RandomResizedCrop``'s sampler: 10
    tries at area fraction U(scale), log-uniform aspect in ratio, then the clamped full image);
    ``rng=None``: the centred square of side min(h, w)."""
    if rng is not None:
        for _ in range(10):
            area = h * w * rng.uniform(*scale)
            aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
            cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < cw <= w and 0 < ch <= h:
                return rng.randint(0, h - ch), rng.randint(0, w - cw), ch, cw
        if w / h < min(ratio):
            ch, cw = round(w / min(ratio)), w
        elif w / h > max(ratio):
            ch, cw = h, round(h * max(ratio))
        else:
            ch, cw = h, w
        return (h - ch) // 2, (w - cw) // 2, ch, cw
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side, side


class Augment:
    """Crop box and flip of one image: random (``train``) or the centred square, no flip."""

    def __init__(self, size: int, train: bool, crop_scale=(0.8, 1.0), crop_ratio=(3 / 4, 4 / 3),
                 flip: bool = True):
        self.size, self.train, self.flip = int(size), bool(train), bool(flip)
        self.crop_scale = tuple(float(v) for v in crop_scale)
        self.crop_ratio = tuple(float(v) for v in crop_ratio)

    def __call__(self, h: int, w: int, rng: random.Random) -> tuple[tuple, bool]:
        """((top, left, height, width), flip?) for an h x w image."""
        if not self.train:
            return crop_box(h, w, None, None, None), False
        box = crop_box(h, w, self.crop_scale, self.crop_ratio, rng)
        return box, self.flip and rng.random() < 0.5


def decode_cpu(data: bytes, aug: Augment, rng: random.Random, draft: bool = True) -> torch.Tensor:
    """[3, S, S] uint8: Pillow decode (JPEG ``draft``: DCT downscaling to >= the crop's need),
    crop + resize (transforms.v2, bilinear, antialiased), flip."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as F
    im = Image.open(io.BytesIO(data))
    w, h = im.size
    (top, left, ch, cw), flip = aug(h, w, rng)
    if draft and im.format == "JPEG":
        shrink = min(cw, ch) / aug.size
        im.draft("RGB", (math.ceil(w / shrink), math.ceil(h / shrink)))
        sx, sy = im.size[0] / w, im.size[1] / h
        top, left, ch, cw = int(top * sy), int(left * sx), max(1, int(ch * sy)), max(1, int(cw * sx))
    im = im.convert("RGB")
    im = F.resized_crop(im, top, left, ch, cw, [aug.size, aug.size], antialias=True)
    if flip:
        im = F.horizontal_flip(im)
    return F.pil_to_tensor(im)


def decode_gpu(datas: list[torch.Tensor], aug: Augment, rng: random.Random,
               device) -> tuple[torch.Tensor, torch.Tensor, dict[int, str]]:
    """([B', 3, S, S] uint8 on ``device``, kept [B'] row indices, {row: error} of the dropped)
    from JPEG byte tensors [n_i]: one batched nvJPEG call, per-image retry when it fails;
    crop / resize (bilinear, antialiased) / flip on the GPU."""
    from torchvision.io import ImageReadMode, decode_jpeg
    try:
        images = decode_jpeg(datas, mode=ImageReadMode.RGB, device=device)
        keep, failed = list(range(len(datas))), {}
    except RuntimeError:
        images, keep, failed = [], [], {}
        for i, d in enumerate(datas):
            try:
                images.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
                keep.append(i)
            except RuntimeError as err:
                failed[i] = f"nvJPEG: {err}"
    out = torch.empty(len(images), 3, aug.size, aug.size, dtype=torch.uint8, device=device)
    for j, img in enumerate(images):
        (top, left, ch, cw), flip = aug(img.shape[1], img.shape[2], rng)
        crop = img[None, :, top:top + ch, left:left + cw].float()
        crop = torch.nn.functional.interpolate(crop, size=(aug.size, aug.size), mode="bilinear",
                                               antialias=True, align_corners=False)
        out[j] = (crop[0].flip(-1) if flip else crop[0]).round_().clamp_(0, 255).byte()
    return out, torch.tensor(keep, dtype=torch.long), failed


# ----------------------------------------------------------------------------- the stream

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


# ----------------------------------------------------------------------------- the loader

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


# ----------------------------------------------------------------------------- the dataset

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


@register("dataset", "webdataset")
class webdataset(Dataset):
    """Streamed shards behind sample banks (module doc). ``size`` and the classes default to the
    shards' ``manifest.json``; ``field="npy"`` trains on the stored latents."""

    def __init__(self, urls, val_urls=None, size: int | None = None, batch_size: int = 64,
                 num_workers: int = 2, device: str = "auto", seed: int = 0,
                 shuffle_buffer: int = 1000, resample: bool = False, crop_scale=(0.8, 1.0),
                 flip: bool = True, per_class: int = 64, global_size: int = 512,
                 push_per_call: int | None = None, prefill_limit: int | None = None,
                 max_corrupt_fraction: float = 0.01, field: str = "jpg",
                 num_classes: int | None = None, conditional: bool = True):
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
        self.dim = int(np.prod(self.shape))
        self.conditional = bool(conditional)
        self.num_classes = self.k if self.conditional else None
        self.loader = WebLoader(train, size=self.size or 1, batch_size=batch_size,
                                num_workers=num_workers, device=device, seed=seed,
                                shuffle_buffer=shuffle_buffer, resample=resample,
                                crop_scale=crop_scale, flip=flip, field=field, uint8=True,
                                max_corrupt_fraction=max_corrupt_fraction)
        dtype = torch.float32 if field == "npy" else torch.uint8
        from zoo.banks import SampleBanks
        self.banks = SampleBanks(self.k, per_class, global_size, self.shape, dtype,
                                 self.loader.device)
        self.push_per_call = int(push_per_call or batch_size)
        self.prefill_limit = int(prefill_limit or max(10_000, 50 * self.k))
        self.seed, self._stream, self._held = seed, None, None

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
                               flip=False, field=self.field, uint8=True, min_seen=10**9)
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
