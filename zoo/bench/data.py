r"""``data``: images/s of the shard loader (``zoo.data.webdataset.WebLoader``) against a plain
torchvision ``ImageFolder`` + ``DataLoader`` on the same JPEGs, same crop / flip / batch / workers.

    drift-zoo bench data --images 2000 --image-size 64 --size 64 --batch-size 128 \
        --workers 2 --batches 30 --markdown results/bench_data.md
    drift-zoo bench data --folder /data/imagenet/train --shards /data/shards/train \
        --size 256 --workers 8 --device cuda          (a real tree and its make_shards output)

Without ``--folder`` it draws ``--images`` procedural ``shapes`` images (``--image-size`` pixels,
JPEG quality 95) into a temporary class-per-folder tree and shards it with
``drift-zoo make-shards`` (no resize, ``--max-per-shard`` 100). Rows:

    torchvision ImageFolder   PIL decode, v2.RandomResizedCrop(size, scale, ratio) + flip, workers
    WebLoader, CPU decode     PIL decode (JPEG draft) + the same crop / flip, in the workers
    WebLoader, GPU decode     nvJPEG batched decode + crop / flip on the GPU (when CUDA is present)

Each row: images/s over ``--batches`` batches (x float in [-1, 1] on the device, synchronised)
after ``--warmup`` batches (worker start-up excluded), median over min(repeats, 3) passes.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

import torch
from rich.console import Console

from zoo.bench.common import Report

NAME, HELP = "data", "shard loader (CPU / GPU decode) vs torchvision ImageFolder images/s"
SCALE, RATIO = (0.8, 1.0), (3 / 4, 4 / 3)


def add_arguments(p) -> None:
    p.add_argument("--folder", default=None, help="a class-per-folder tree (default: shapes)")
    p.add_argument("--shards", default=None, help="its make_shards output (default: made here)")
    p.add_argument("--images", type=int, default=2000, help="shapes images to draw")
    p.add_argument("--image-size", type=int, default=64, help="shapes image side")
    p.add_argument("--size", type=int, default=64, help="crop side fed to the model")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (both loaders)")
    p.add_argument("--batches", type=int, default=30, help="timed batches per pass")
    p.add_argument("--warmup", type=int, default=3, help="untimed batches first")


def write_shapes(root: str, n: int, size: int, seed: int) -> str:
    """root/<shape>/<i>.jpg: n shapes images (quality 95), about n/6 per class."""
    from PIL import Image
    import zoo  # noqa: F401
    from zoo.data.shapes import SHAPES
    from zoo.registry import build
    ds = build("dataset", "shapes", size=size)
    for c, name in enumerate(SHAPES):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        count = n // 6 + (c < n % 6)
        x = ds.sample_class(torch.full((count,), c), torch.Generator().manual_seed(seed + c))
        px = ((x.view(count, *ds.shape) + 1) * 127.5).round().clamp(0, 255).byte()
        for i, img in enumerate(px.permute(0, 2, 3, 1).numpy()):
            Image.fromarray(img).save(os.path.join(root, name, f"{i:05d}.jpg"), quality=95)
    return root


def throughput(batches, args, device: torch.device) -> float:
    """Images/s of the iterator ``batches`` over args.batches after args.warmup batches."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    it = iter(batches)
    for _ in range(args.warmup):
        next(it)
    sync()
    t0, n = time.perf_counter(), 0
    for _ in range(args.batches):
        x, _ = next(it)
        n += len(x)
    sync()
    return n / (time.perf_counter() - t0)


def imagefolder_batches(folder: str, args, device: torch.device):
    """Endless (x [B, 3, S, S] in [-1, 1] on device, labels) from torchvision ImageFolder."""
    from torchvision import datasets
    from torchvision.transforms import v2
    tf = v2.Compose([v2.RandomResizedCrop(args.size, scale=SCALE, ratio=RATIO, antialias=True),
                     v2.RandomHorizontalFlip(), v2.PILToTensor()])
    loader = torch.utils.data.DataLoader(
        datasets.ImageFolder(folder, transform=tf), batch_size=args.batch_size, shuffle=True,
        drop_last=True, num_workers=args.workers, pin_memory=device.type == "cuda",
        prefetch_factor=4 if args.workers else None)
    while True:
        for x, y in loader:
            yield x.to(device, non_blocking=True).float().div_(127.5).sub_(1.0), y.to(device)


def shard_batches(shards: str, args, device: str):
    """Endless (x, labels) from ``WebLoader`` with the same crop / flip on ``device``."""
    from zoo.data.shards import WebLoader
    loader = WebLoader(shards, size=args.size, batch_size=args.batch_size,
                       num_workers=args.workers, device=device, seed=args.seed,
                       crop_scale=SCALE, crop_ratio=RATIO, min_seen=10**9)
    try:
        yield from loader
    finally:
        loader.close()


def measure(make, args, device: torch.device) -> float:
    """Median images/s over min(repeats, 3) fresh passes of ``make()``."""
    rates = []
    for _ in range(max(1, min(args.repeats, 3))):
        gen = make()
        rates.append(throughput(gen, args, device))
        gen.close()
    return statistics.median(rates)


def data_sources(args, tmp: str) -> tuple[str, str]:
    """(image folder, shard folder): given, or drawn from shapes and sharded here."""
    from zoo.cli import make_shards
    folder = args.folder or write_shapes(os.path.join(tmp, "images"), args.images,
                                         args.image_size, args.seed)
    shards = args.shards
    if shards is None:
        shards = os.path.join(tmp, "shards")
        make_shards.make_shards(folder, shards, max_per_shard=100, seed=args.seed,
                                workers=max(1, args.workers), progress=False)
    return folder, shards


def run(args) -> Report:
    console = Console(stderr=True)
    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda and args.device.startswith("cuda") else "cpu")
    report = Report(f"data loading: {args.size}px crops, batch {args.batch_size}, "
                    f"{args.workers} workers", ["loader", "decode", "images / s", "vs ImageFolder"])
    with tempfile.TemporaryDirectory() as tmp:
        with console.status("preparing images and shards"):
            folder, shards = data_sources(args, tmp)
        rows = [("torchvision ImageFolder + DataLoader", "PIL (workers)",
                 lambda: imagefolder_batches(folder, args, dev)),
                ("WebLoader", "PIL + draft (workers)", lambda: shard_batches(shards, args, "cpu"))]
        if cuda:
            rows.append(("WebLoader", "nvJPEG (GPU)", lambda: shard_batches(shards, args, "cuda")))
        rates = []
        for name, decode, make in rows:
            with console.status(f"{name}, {decode}"):
                rates.append(measure(make, args, torch.device("cuda") if "GPU" in decode else dev))
            report.rows.append([name, decode, f"{rates[-1]:.0f}", f"{rates[-1] / rates[0]:.2f}x"])
    report.notes = [f"Images: {args.folder or f'{args.images} shapes JPEGs of {args.image_size} px'}; "
                    f"crop scale {SCALE}, ratio (3/4, 4/3), flip; {args.batches} timed batches after "
                    f"{args.warmup}, median of {max(1, min(args.repeats, 3))} passes.",
                    "Timings on a shared machine are noisy; compare within a table, not across machines."]
    return report
