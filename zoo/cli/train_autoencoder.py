r"""Train the ``conv_ae`` autoencoder (4 latent channels, 8x down) for latent drifting runs.

    drift-zoo train-autoencoder --dataset shapes --size 64 \
        --out results/runs/autoencoders/conv_ae.pt
    drift-zoo train-autoencoder --shards /data/mini/shards/train --val /data/mini/shards/val \
        --out results/runs/autoencoders/conv_ae.pt --steps 2000
    drift-zoo make-shards --src DIR --out OUT --size 64 --center-crop \
        --latents conv_ae --latents-path results/runs/autoencoders/conv_ae.pt

Images come from a registered image dataset (``--dataset``, built with ``--size`` when it takes
one) or from the JPEGs of ``make-shards`` output (``--shards``; held out: ``--val`` shards, else
its first shard). Loss: mean squared error of decode(encode(x)) against x in [-1, 1]; Adam with a
cosine-decayed learning rate, seeded (init, data). At the end the latent scale is set to
1 / std of the latents of ``--eval_batch`` training images (latents of roughly unit scale, as
SD-VAE's 0.18215), and the held-out reconstruction error is measured on ``--eval_batch`` fixed
held-out images: MSE in [-1, 1] and PSNR = 10 log10(2^2 / MSE) dB. Writes the weights to
``--out`` (atomically; ``conv_ae.path = '<out>'`` loads them) and ``--out`` with suffix .json
(recipe, scale, held-out MSE / PSNR before and after).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from zoo.autoencoders.conv_ae import DEFAULT_PATH, ConvAENet, check_shape, save_conv_ae
from zoo.cli import parser
from zoo.run.report import print_error


def parse(argv):
    ap = parser("train-autoencoder", __doc__)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--dataset", default=None, help="a registered image dataset (default shapes)")
    src.add_argument("--shards", default=None, help="a make-shards output folder (its JPEGs)")
    ap.add_argument("--val", default=None, help="held-out shards (with --shards)")
    ap.add_argument("--size", type=int, default=64, help="image size for --dataset (default 64)")
    ap.add_argument("--out", default=DEFAULT_PATH, help=f"weights file (default {DEFAULT_PATH})")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=16, help="channels of the first stage")
    ap.add_argument("--eval_batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def image_source(args):
    """The dataset the images come from (module docstring); checks it holds RGB images S % 8."""
    import zoo
    from zoo.config_hints import parameters
    from zoo.registry import lookup

    if args.shards is not None:
        dataset = zoo.build("dataset", "webdataset", urls=args.shards, val_urls=args.val,
                            batch_size=args.batch, num_workers=0, device="cpu", seed=args.seed,
                            conditional=False)
    else:
        name = args.dataset or "shapes"
        kw = {"size": args.size} if "size" in parameters(lookup("dataset", name)) else {}
        dataset = zoo.build("dataset", name, **kw)
    shape = getattr(dataset, "shape", None)
    if shape is None:
        raise ValueError(f"dataset {dataset!r} is not an image dataset (no shape)")
    check_shape(shape)
    return dataset


def reconstruction_error(net: ConvAENet, x: torch.Tensor) -> tuple[float, float]:
    """(MSE, PSNR in dB) of net's reconstructions of images x [N, 3, S, S] in [-1, 1]."""
    with torch.no_grad():
        mse = float(sum((net(b).clamp(-1, 1) - b).pow(2).sum() for b in x.split(64)) / x.numel())
    return mse, 10 * math.log10(4.0 / max(mse, 1e-12))


def latent_scale(net: ConvAENet, x: torch.Tensor) -> float:
    """1 / std of the (unscaled) latents of images x: the scale that makes them ~unit."""
    with torch.no_grad():
        z = torch.cat([net.encoder(b) for b in x.split(64)])
    return 1.0 / max(float(z.std()), 1e-8)


def _progress(quiet: bool):
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)
    return Progress(TextColumn("[bold]conv_ae"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("MSE {task.fields[loss]:.4f}"), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=quiet, refresh_per_second=4)


def train_autoencoder(args) -> dict:
    """Train, save, and return the config written to the .json."""
    if args.steps < 1 or args.batch < 1 or args.eval_batch < 1:
        raise ValueError("need --steps, --batch and --eval_batch >= 1")
    dataset = image_source(args)
    shape = tuple(dataset.shape)
    torch.manual_seed(args.seed)
    net = ConvAENet(args.width)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / args.steps)))
    gen = torch.Generator().manual_seed(args.seed)
    held = dataset.held_out(args.eval_batch).view(-1, *shape)
    before = reconstruction_error(net, held)
    with _progress(args.quiet) as bar:
        task = bar.add_task("conv_ae", total=args.steps, loss=float("nan"))
        for step in range(1, args.steps + 1):
            x = dataset.sample(args.batch, gen).view(-1, *shape)
            loss = (net(x) - x).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(task, completed=step, loss=loss.item())
    net.eval()
    scale = latent_scale(net, dataset.sample(args.eval_batch, gen).view(-1, *shape))
    mse, psnr = reconstruction_error(net, held)
    if hasattr(dataset, "close"):
        dataset.close()
    config = dict(autoencoder="conv_ae", width=args.width, shape=list(shape),
                  latent_shape=list(check_shape(shape)), scale=scale,
                  source=args.shards or args.dataset or "shapes", val=args.val,
                  steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                  eval_images=len(held), eval_mse_before=before[0], eval_psnr_before=before[1],
                  eval_mse=mse, eval_psnr=psnr)
    save_conv_ae(net, scale, args.out, config)
    return config


def main(argv=None) -> int:
    args = parse(argv)
    from rich.console import Console

    try:
        config = train_autoencoder(args)
    except (ValueError, KeyError, FileNotFoundError) as err:
        return print_error(err)
    Console(soft_wrap=True).print(
        f"held-out reconstruction MSE {config['eval_mse_before']:.4f} -> {config['eval_mse']:.4f}"
        f" (PSNR {config['eval_psnr']:.1f} dB, {config['steps']} steps), latent scale "
        f"{config['scale']:.3g}; wrote {args.out} and {Path(args.out).with_suffix('.json')}")
    return 0
