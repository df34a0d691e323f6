r"""Write an image folder (ImageNet layout) as WebDataset tar shards with a manifest.

    drift-zoo make-shards --src /data/imagenet/train --out /data/shards/train \
        --size 256 --center-crop --quality 95 --max-per-shard 1000 --seed 0 [--workers 8]
    drift-zoo make-shards --src /data/imagenet/val --out /data/shards/val --size 256 --center-crop
    drift-zoo make-shards --src DIR --out OUT --size 32 --center-crop --latents space_to_depth
    drift-zoo make-shards --src DIR --out OUT --size 64 --center-crop --latents conv_ae \
        --latents-path results/runs/autoencoders/conv_ae.pt

Input: ``src/<class>/.../<image>`` (classes = sorted sub-folders, label = position; the scan of
``zoo.data.image_folder``). Output, in one shuffled order fixed by ``--seed``:

    out/shard-000000.tar, shard-000001.tar, ...   at most --max-per-shard samples each, members
        <key>.jpg   RGB JPEG (--quality, --chroma subsampling), shorter side resized to --size (bicubic) and, with
                    --center-crop, centre-cropped to size x size; original size without --size
        <key>.cls   the class index, ASCII
        <key>.npy   (--latents NAME) float32 latent of the (resized, cropped, pre-JPEG) image in
                    [-1, 1] through build("autoencoder", NAME[, path=--latents-path]); needs
                    --size and --center-crop
    out/manifest.json   classes, counts per class, shards with sample counts, size / crop /
                    quality / chroma, latents (autoencoder, its rebuild args such as the weights
                    path, shape), source, seed, skipped files, command

Keys are the sample's position in the shuffled order (``%08d``). Unreadable source images are
skipped, counted and listed in the manifest. Shards are written to ``.tmp`` and renamed, so a
crashed run leaves no half-written shard under a final name. Read them with
``zoo.data.webdataset`` (``WebLoader`` / the ``webdataset`` dataset).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import shlex
import sys

import numpy as np
import torch

from zoo.cli import parser

SHARD_PATTERN = "shard-%06d.tar"


def parse_args(argv=None) -> argparse.Namespace:
    ap = parser("make-shards", __doc__)
    ap.add_argument("--src", required=True, help="class-per-folder image tree")
    ap.add_argument("--out", required=True, help="output folder for shards and manifest.json")
    ap.add_argument("--size", type=int, default=None, help="resize the shorter side to this")
    ap.add_argument("--center-crop", action="store_true", help="then crop size x size")
    ap.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    ap.add_argument("--chroma", default="444", choices=["444", "420"],
                    help="JPEG chroma subsampling (default 444: full colour resolution)")
    ap.add_argument("--max-per-shard", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="seed of the shuffled sample order")
    ap.add_argument("--latents", default=None, metavar="NAME",
                    help="also store <key>.npy latents from this registered autoencoder")
    ap.add_argument("--latents-path", default=None, metavar="FILE",
                    help="the autoencoder's weights (its path=; conv_ae, sd_vae)")
    ap.add_argument("--workers", type=int, default=1, help="processes encoding images")
    return ap.parse_args(argv)


def prepare(path: str, size: int | None, center_crop: bool):
    """The RGB PIL image at ``path``, shorter side resized to ``size``, optionally centre-cropped."""
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGB")
    if size is not None:
        w, h = im.size
        scale = size / min(w, h)
        new = (max(size, round(w * scale)), max(size, round(h * scale)))
        if new != (w, h):
            im = im.resize(new, Image.BICUBIC)
        if center_crop:
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            im = im.crop((left, top, left + size, top + size))
    return im


def latent_bytes(autoencoder, im) -> bytes:
    """``.npy`` bytes of the float32 latent [c, h, w] of the PIL image ``im`` (pixels -> [-1, 1])."""
    x = torch.from_numpy(np.asarray(im, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1.0
    with torch.no_grad():
        z = autoencoder.encode(x[None])[0].float().cpu().numpy()
    buf = io.BytesIO()
    np.save(buf, z)
    return buf.getvalue()


_WORKER: dict = {}


def _init_worker(opts: dict) -> None:
    """Per-process state: the options and, with latents, the autoencoder (built once)."""
    _WORKER.clear()
    _WORKER.update(opts)
    if opts["latents"]:
        _WORKER["ae"] = _autoencoder(opts["latents"], opts.get("latents_path"))


def encode_one(item: tuple[str, int]) -> dict | None:
    """{'jpg', 'cls'[, 'npy']} bytes for (path, label), or None if the image is unreadable."""
    path, label = item
    try:
        im = prepare(path, _WORKER["size"], _WORKER["center_crop"])
    except Exception:  # noqa: BLE001 - any decoder error: skip and count
        return None
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=_WORKER["quality"],
            subsampling=0 if _WORKER["chroma"] == "444" else 2)
    out = {"jpg": buf.getvalue(), "cls": str(label).encode("ascii")}
    if "ae" in _WORKER:
        out["npy"] = latent_bytes(_WORKER["ae"], im)
    return out


def plan(src: str, seed: int) -> tuple[list[str], list[tuple[str, int]]]:
    """(class names, [(path, label)] in the shuffled order of ``seed``); clear errors if empty."""
    from zoo.data.image_folder import scan
    if not os.path.isdir(src):
        raise FileNotFoundError(f"make_shards: --src '{src}' does not exist or is not a folder; "
                                f"pass a folder with one sub-folder of images per class")
    try:
        classes, paths, labels = scan(src)
    except ValueError as err:
        raise ValueError(f"make_shards: {err}") from None
    items = list(zip(paths, labels))
    random.Random(seed).shuffle(items)
    return classes, items


def encoded(items: list[tuple[str, int]], opts: dict, workers: int):
    """Yield encode_one(item) for every item, in order (a process pool when workers > 1)."""
    if workers <= 1:
        _init_worker(opts)
        yield from map(encode_one, items)
        return
    import multiprocessing as mp
    with mp.get_context("spawn").Pool(workers, _init_worker, (opts,)) as pool:
        yield from pool.imap(encode_one, items, chunksize=32)


class ShardSink:
    """Writes samples into ``out/shard-%06d.tar`` files of at most ``max_per_shard`` samples."""

    def __init__(self, out: str, max_per_shard: int):
        import webdataset as wds
        self.wds, self.out, self.max = wds, out, int(max_per_shard)
        self.shards: list[dict] = []
        self.writer = self.tmp = None

    def write(self, key: str, sample: dict) -> None:
        if self.writer is None or self.shards[-1]["count"] >= self.max:
            self.close()
            name = SHARD_PATTERN % len(self.shards)
            self.tmp = os.path.join(self.out, name + ".tmp")
            self.writer = self.wds.TarWriter(self.tmp, encoder=False, mtime=0.0)
            self.shards.append({"name": name, "count": 0})
        self.writer.write({"__key__": key, **sample})
        self.shards[-1]["count"] += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            os.replace(self.tmp, self.tmp[:-len(".tmp")])
            self.writer = None


def _autoencoder(name: str, path: str | None):
    """build("autoencoder", name[, path=path])."""
    import zoo.autoencoders  # noqa: F401  (registers the autoencoders)
    from zoo.registry import build
    return build("autoencoder", name, **({} if path is None else {"path": path}))


def latent_info(name: str | None, size: int | None, center_crop: bool,
                path: str | None = None) -> dict | None:
    """The manifest's latents entry {autoencoder[, args], shape, dtype} (args: what rebuilds the
    autoencoder, e.g. its weights path; ``Autoencoder.args``); checks the options fit."""
    if name is None:
        return None
    if size is None or not center_crop:
        raise ValueError("make_shards: --latents needs fixed-size images: pass --size S and "
                         "--center-crop")
    ae = _autoencoder(name, path)
    args = ae.args()
    return {"autoencoder": name, **({"args": args} if args else {}),
            "shape": list(ae.latent_shape((3, size, size))), "dtype": "float32"}


def make_shards(src: str, out: str, *, size: int | None = None, center_crop: bool = False,
                quality: int = 95, chroma: str = "444", max_per_shard: int = 1000, seed: int = 0,
                latents: str | None = None, workers: int = 1, command: str | None = None,
                progress: bool = True, latents_path: str | None = None) -> dict:
    """Write the shards and ``manifest.json`` of ``src`` into ``out``; returns the manifest."""
    from rich.progress import track
    if max_per_shard < 1:
        raise ValueError(f"make_shards: --max-per-shard must be >= 1, got {max_per_shard}")
    lat = latent_info(latents, size, center_crop, latents_path)
    classes, items = plan(os.fspath(src), seed)
    os.makedirs(out, exist_ok=True)
    opts = {"size": size, "center_crop": center_crop, "quality": quality, "chroma": str(chroma),
            "latents": latents, "latents_path": latents_path}
    sink, counts, skipped = ShardSink(out, max_per_shard), [0] * len(classes), []
    stream = encoded(items, opts, workers)
    for (path, label), sample in track(zip(items, stream), total=len(items), disable=not progress,
                                       description="shards", console=_console()):
        if sample is None:
            skipped.append(path)
            continue
        sink.write("%08d" % sum(counts), sample)
        counts[label] += 1
    sink.close()
    if not sink.shards:
        raise ValueError(f"make_shards: no readable image under '{src}' ({len(skipped)} skipped)")
    manifest = {"format": "drift-zoo webdataset shards v1", "classes": classes,
                "num_classes": len(classes), "counts": dict(zip(classes, counts)),
                "total": sum(counts), "shards": sink.shards, "size": size,
                "center_crop": center_crop, "quality": quality, "chroma": str(chroma),
                "latents": lat,
                "source": os.path.abspath(src), "seed": seed, "skipped": skipped,
                "command": command or _command(src, out, opts, max_per_shard, seed)}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def _console():
    from rich.console import Console
    return Console(stderr=True)


def _command(src, out, opts: dict, max_per_shard: int, seed: int) -> str:
    """The command line that regenerates these shards (for calls from Python)."""
    args = ["python", "drift-zoo make-shards", "--src", os.fspath(src), "--out", os.fspath(out),
            "--quality", str(opts["quality"]), "--chroma", opts["chroma"],
            "--max-per-shard", str(max_per_shard),
            "--seed", str(seed)]
    args += ["--size", str(opts["size"])] if opts["size"] is not None else []
    args += ["--center-crop"] if opts["center_crop"] else []
    args += ["--latents", opts["latents"]] if opts["latents"] else []
    args += ["--latents-path", opts["latents_path"]] if opts.get("latents_path") else []
    return shlex.join(args)


def main(argv=None) -> int:
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    manifest = make_shards(args.src, args.out, size=args.size, center_crop=args.center_crop,
                           quality=args.quality, chroma=args.chroma,
                           max_per_shard=args.max_per_shard,
                           seed=args.seed, latents=args.latents, workers=args.workers,
                           latents_path=args.latents_path,
                           command=shlex.join(["python", "drift-zoo make-shards", *argv]))
    _console().print(f"wrote {manifest['total']} samples of {manifest['num_classes']} classes in "
                     f"{len(manifest['shards'])} shards to {args.out} "
                     f"({len(manifest['skipped'])} unreadable images skipped)")
    return 0
