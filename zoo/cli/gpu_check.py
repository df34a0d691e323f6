r"""Exercise every CUDA path of the zoo in a few minutes and write a markdown table.

    drift-zoo gpu-check [--out results/gpu_check.md]          (also: python tools/gpu_check.py)

One row per check (check | result | number | time), each a function ``check_*(device, tiny)``
that also runs on the CPU (``tiny=True``: test-sized inputs, how tests/test_gpu_check.py runs
them); a check that raises is a row "FAIL: <error>", the others still run:

    train_step     a drift step of a DiT-S/4 on 3x64x64 under bf16 autocast (torch.autocast on
                   the device): the generator's output is bfloat16, the loss finite, the weights move
    faiss          recall@10 of the device's flat index (faiss-gpu on CUDA) against the CPU flat
                   index on 20k x 64 random rows; 1.0 expected
    jpeg_decode    ``decode_gpu`` (nvJPEG via torchvision.io.decode_jpeg) against ``decode_cpu``
                   (Pillow) on 64 JPEGs: mean |difference| in 0..255 levels (< 3 expected)
    ddp            DDP over NCCL (gloo on the CPU) on every GPU present, torch.multiprocessing
                   spawn: one step, then the parameters agree across ranks (max spread)
    loader         images/s of ``WebLoader`` on the device over shards of a miniature ImageNet
                   (``make-imagenet-mini`` -> ``make-shards``, 64x64 JPEGs)
    dit_b_latent   steps/s of a DiT-B/2 drift step on 4x32x32 latents (ImageNet 256 through the
                   SD VAE), batch 64, bf16 autocast, AdamW

Without CUDA the command prints one line saying so and exits 0 (nothing is written); the
sizes above keep the whole check under 8 minutes on one GPU.
"""
from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import torch

from zoo.cli import parser

NO_CUDA = "gpu-check: no CUDA device here (torch.cuda.is_available() is False); nothing to check"
COLUMNS = ("check", "result", "number", "time")


def _drift_step(model, opt, labels, pos, device) -> float:
    """One drift step under bf16 autocast: x = model(z, labels) -> meanshift/laplace loss
    against pos [1, P, D] -> AdamW. Returns the loss; asserts the output was bfloat16."""
    from zoo.drift import drift_loss
    from zoo.registry import lookup

    z = torch.randn(len(labels), *model.shape, device=device)
    with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16):
        x = model(z, labels)
    assert x.dtype == torch.bfloat16, f"autocast did not run the generator in bf16 ({x.dtype})"
    loss, _ = drift_loss(x.float().flatten(1)[None], pos, field=lookup("field", "meanshift"),
                         kernel=lookup("kernel", "laplace")())
    opt.zero_grad(set_to_none=True)
    loss.mean().backward()
    opt.step()
    return float(loss.detach().mean())


def _dit(name: str, shape, device, classes: int = 10):
    from zoo.registry import lookup

    torch.manual_seed(0)
    model = lookup("generator", name)(shape=shape, patch=2 if name == "dit_b" else 4,
                                      num_classes=classes).to(device)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-4)


def check_train_step(device, tiny: bool = False) -> tuple[str, str]:
    """(result, number): a bf16-autocast drift step moves the weights and has a finite loss."""
    shape, n = ((3, 8, 8), 8) if tiny else ((3, 64, 64), 64)
    model, opt = _dit("dit_tiny" if tiny else "dit_s", shape, device)
    before = [p.detach().clone() for p in model.parameters()]
    pos = torch.randn(1, n, torch.Size(shape).numel(), device=device)
    loss = _drift_step(model, opt, torch.arange(n, device=device) % 10, pos, device)
    moved = sum(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    ok = torch.isfinite(torch.tensor(loss)) and moved > 0
    return ("ok" if ok else "FAIL: loss not finite or no weight moved"), f"loss {loss:.4f}"


def check_dit_b_latent(device, tiny: bool = False) -> tuple[str, str]:
    """(result, steps/s) of DiT-B/2 drift steps on 4x32x32 latents (tiny: dit_tiny, 4x8x8)."""
    name, shape, n, steps = ("dit_tiny", (4, 8, 8), 8, 2) if tiny else ("dit_b", (4, 32, 32), 64, 10)
    model, opt = _dit(name, shape, device)
    labels = torch.arange(n, device=device) % 10
    pos = torch.randn(1, n, torch.Size(shape).numel(), device=device)
    _drift_step(model, opt, labels, pos, device)  # warm-up (kernels, allocator)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = _drift_step(model, opt, labels, pos, device)
    sync()
    rate = steps / (time.perf_counter() - t0)
    return ("ok" if loss == loss else "FAIL: loss is NaN"), f"{rate:.2f} steps/s (batch {n})"


def check_faiss(device, tiny: bool = False) -> tuple[str, str]:
    """(result, recall@10) of the device's flat index against the CPU flat index."""
    import faiss
    import numpy as np

    m, d, q, k = (500, 16, 20, 10) if tiny else (20_000, 64, 1000, 10)
    rng = np.random.default_rng(0)
    base, queries = rng.standard_normal((m, d), np.float32), rng.standard_normal((q, d), np.float32)
    cpu = faiss.IndexFlatL2(d)
    cpu.add(base)
    index = faiss.IndexFlatL2(d)
    if torch.device(device).type == "cuda":
        if not hasattr(faiss, "StandardGpuResources"):
            return "skipped: faiss has no GPU support (pip install faiss-gpu)", "-"
        res = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(res, torch.device(device).index or 0, index)
    index.add(base)
    want, got = cpu.search(queries, k)[1], index.search(queries, k)[1]
    recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(want, got)]))
    return ("ok" if recall >= 0.99 else "FAIL: recall below 0.99"), f"recall@{k} {recall:.4f}"


def _jpegs(n: int, size: int) -> list[bytes]:
    """n JPEGs of the shapes dataset at size x size (quality 90)."""
    import io

    from PIL import Image

    from zoo.data.shapes import shapes
    from zoo.images import to_uint8

    ds = shapes(size=size)
    x = ds.sample_class(torch.arange(n) % ds.num_classes, torch.Generator().manual_seed(0))
    out = []
    for img in to_uint8(x, ds.shape):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def check_jpeg_decode(device, tiny: bool = False) -> tuple[str, str]:
    """(result, mean |GPU - CPU| in levels) of ``decode_gpu`` against ``decode_cpu``."""
    from zoo.data.shards import Augment, decode_cpu, decode_gpu

    n, size = (4, 16) if tiny else (64, 64)
    datas = _jpegs(n, size)
    aug = Augment(size, train=False)
    tensors = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas]
    x, keep, failed = decode_gpu(tensors, aug, random.Random(0), device)
    ref = torch.stack([decode_cpu(d, aug, random.Random(0)) for d in datas])
    diff = float((x.cpu().float() - ref.float()).abs().mean())
    ok = not failed and len(keep) == n and diff < 3
    return ("ok" if ok else f"FAIL: {len(failed)} failed, diff {diff:.2f}"), f"{diff:.3f} levels"


def _ddp_worker(rank: int, world: int, init: str, backend: str, out: str) -> None:
    """One rank: a DDP step of a small MLP, then the max parameter spread across ranks."""
    import torch.distributed as dist

    from zoo.dist import cleanup

    dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    device = torch.device(f"cuda:{rank}") if backend == "nccl" else torch.device("cpu")
    if backend == "nccl":
        torch.cuda.set_device(device)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(
        torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).to(device),
        device_ids=[rank] if backend == "nccl" else None)
    torch.manual_seed(1 + rank)  # different data per rank: the gradients must be averaged
    model(torch.randn(16, 32, device=device)).pow(2).mean().backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    if rank == 0:
        Path(out).write_text(f"{float((hi - lo).abs().max())}")
    del model  # zoo.dist.cleanup frees it before the group goes (see there)
    cleanup()


def check_ddp(device, tiny: bool = False, world: int | None = None) -> tuple[str, str]:
    """(result, parameter spread) of a DDP step over every GPU (NCCL) or ``world`` CPU ranks."""
    import torch.multiprocessing as mp

    cuda = torch.device(device).type == "cuda"
    world = world or (torch.cuda.device_count() if cuda else 2)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "spread")
        mp.spawn(_ddp_worker, args=(world, f"file://{tmp}/init", "nccl" if cuda else "gloo", out),
                 nprocs=world, join=True)
        spread = float(Path(out).read_text())
    result = "ok" if spread == 0.0 else "FAIL: ranks disagree after a step"
    return result, f"{world} ranks, spread {spread:.1e}"


def check_loader(device, tiny: bool = False) -> tuple[str, str]:
    """(result, images/s) of ``WebLoader`` decoding a miniature ImageNet's shards on device."""
    from zoo.cli.make_imagenet_mini import make_imagenet_mini
    from zoo.cli.make_shards import make_shards
    from zoo.data.shards import WebLoader

    per_class, size, batches, workers = (4, 16, 2, 0) if tiny else (200, 64, 40, 4)
    with tempfile.TemporaryDirectory() as tmp:
        make_imagenet_mini(f"{tmp}/tree", size=size, train_per_class=per_class, val_per_class=1,
                           progress=False)
        make_shards(f"{tmp}/tree/train", f"{tmp}/shards", max_per_shard=100, progress=False)
        loader = WebLoader(f"{tmp}/shards", size=size, batch_size=16 if tiny else 128,
                           num_workers=workers, device=device, shuffle_buffer=64)
        it, seen = iter(loader), 0
        next(it)  # warm-up: workers started
        t0 = time.perf_counter()
        for _ in range(batches):
            x, _ = next(it)
            seen += len(x)
        rate = seen / (time.perf_counter() - t0)
        loader.close()
    ok = x.device.type == torch.device(device).type
    return ("ok" if ok else f"FAIL: batches on {x.device}"), f"{rate:.0f} images/s"


CHECKS = {"train_step": check_train_step, "faiss": check_faiss, "jpeg_decode": check_jpeg_decode,
          "ddp": check_ddp, "loader": check_loader, "dit_b_latent": check_dit_b_latent}


def run_checks(device, tiny: bool = False, names=None) -> list[tuple[str, str, str, str]]:
    """[(check, result, number, seconds)] of ``CHECKS`` (or ``names``); an error is a FAIL row."""
    rows = []
    for name in names or CHECKS:
        t0 = time.perf_counter()
        try:
            result, number = CHECKS[name](device, tiny)
        except Exception as err:  # noqa: BLE001 - one failing path must not hide the others
            result, number = f"FAIL: {type(err).__name__}: {err}".replace("\n", " "), "-"
        rows.append((name, result, number, f"{time.perf_counter() - t0:.1f} s"))
    return rows


def markdown(rows, machine: str) -> str:
    """The report: a title, the machine line and a table of (check, result, number, time)."""
    cells = lambda row: "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"  # noqa: E731
    lines = ["# GPU check (`drift-zoo gpu-check`)", "", machine, "", cells(COLUMNS),
             cells(["---"] * len(COLUMNS)), *map(cells, rows)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = parser("gpu-check", __doc__)
    ap.add_argument("--out", default="results/gpu_check.md", help="the markdown table")
    ap.add_argument("--only", default=None, help=f"comma-separated subset of {', '.join(CHECKS)}")
    args = ap.parse_args(argv)
    from rich.console import Console

    names = args.only.split(",") if args.only else None
    unknown = sorted(set(names or ()) - set(CHECKS))
    if unknown:
        from zoo.run.report import print_error
        return print_error(f"gpu-check: unknown check(s) {unknown}; --only takes a comma-separated "
                           f"subset of {', '.join(CHECKS)}")
    if not torch.cuda.is_available():
        Console(soft_wrap=True).print(NO_CUDA, highlight=False)
        return 0
    from zoo.bench.common import machine

    rows = run_checks("cuda", names=names)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(markdown(rows, machine("cuda")))
    Console(soft_wrap=True).print(markdown(rows, machine("cuda")), highlight=False)
    failed = [r[0] for r in rows if r[1].startswith("FAIL")]
    return 1 if failed else 0
