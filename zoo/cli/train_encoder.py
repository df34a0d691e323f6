r"""Train the ``mae`` feature encoder by masked reconstruction on an image dataset.

    drift-zoo train-encoder --dataset digits --out results/runs/encoders/mae_digits.pt
    drift-zoo train-encoder --dataset shapes --out results/runs/encoders/mae_shapes.pt \
        --base_channels 16 --steps 2000
    drift-zoo train-encoder --dataset shapes --size 16 --base_channels 16 --steps 3000 \
        --cls_steps 1000 --out results/encoders/mae_shapes16_cls.pt
    drift-zoo train-encoder --dataset webdataset --shards /data/shards/train \
        --val_shards /data/shards/val --out mae_imagenet.pt --input_patch_size 4 --workers 8

``--shards`` (WebDataset tar shards of ``drift-zoo make-shards``; implies ``--dataset
webdataset``) streams the training images through the ``webdataset`` dataset's rings and takes
the held-out images from ``--val_shards`` (without it, the first shard is held out);
``--field npy`` trains on the shards' stored latents instead (the encoder of a latent run).

``--cls_steps K`` then fine-tunes for classification as the paper (App. A.3): K more steps on
lambda CE + (1 - lambda) masked recon, lambda ramped 0 -> ``--cls_weight`` over the first
``--cls_warmup`` steps, the CE from the encoder's own linear head on its pooled last block and
the class-conditional dataset's labels (``zoo.encoders.cls_finetune``; the head is dropped on
save). The .json then also holds the head's held-out accuracy before / after.

As the drifting release's MAE (lambertae/drifting JAX ``models/mae_model.py``,
``MAEResNetJAX.__call__``, ``make_patch_mask``, ``_UNetDecoder``): every mask patch (``--mask_patch``
pixels square, after the space-to-depth of ``--input_patch_size``) of an image is masked with
probability r ~ U[--mask_ratio_min, --mask_ratio_max] (one r per image); the encoder
(``zoo.encoders.mae.ResNet``) sees x (1 - mask), a light UNet decoder (upsample, concatenate the
skip map, GN, two conv-GN-ReLU per level, 1x1 head) reconstructs x, and the loss is the mean
squared error over the masked values. AdamW, seeded (data, init, masks). The held-out masked
loss is measured before and after training on fixed images and masks. Writes the encoder's
state dict to --out (``weights_only`` loadable; the decoder is dropped) and --out with suffix
.json (architecture, shape, recipe, losses); ``mae.path = '<out>'`` then uses it.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from zoo.cli import parser
from zoo.encoders.cls_finetune import ClsHead, check_features, cls_finetune, head_accuracy
from zoo.encoders.mae import ResNet, conv_gn, gn_groups, save_encoder, space_to_depth
from zoo.run.report import print_error


class UpBlock(nn.Module):
    """Resize h to the skip's size, concatenate, GN, two conv3x3-GN-ReLU -> [N, cout, H, W]."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.norm = nn.GroupNorm(gn_groups(cin + cskip), cin + cskip)
        self.convs = nn.Sequential(conv_gn(cin + cskip, cout, 3), nn.ReLU(),
                                   conv_gn(cout, cout, 3), nn.ReLU())

    def forward(self, h, skip):
        h = nn.functional.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(self.norm(torch.cat([h, skip], dim=1)))


class UNetDecoder(nn.Module):
    """Maps {conv1, layer1..layerK} of ``ResNet`` back to the (space-to-depth) input."""

    def __init__(self, channels: list[int], out_channels: int):
        super().__init__()
        self.bridge = nn.Sequential(conv_gn(channels[-1], channels[-1], 3), nn.ReLU())
        self.ups = nn.ModuleList(UpBlock(channels[i + 1], channels[i], channels[i])
                                 for i in reversed(range(len(channels) - 1)))
        self.head = nn.Conv2d(channels[0], out_channels, 1)

    def forward(self, maps: dict) -> torch.Tensor:
        feats = list(maps.values())                       # conv1, layer1, ..., layerK
        h = self.bridge(feats[-1])
        for up, skip in zip(self.ups, reversed(feats[:-1])):
            h = up(h, skip)
        return self.head(h)


def patch_mask(n: int, h: int, w: int, patch: int, lo: float, hi: float,
               generator: torch.Generator) -> torch.Tensor:
    """[n, 1, h, w] float mask, 1 = masked: each patch x patch cell masked with prob. r_i."""
    ratio = torch.rand(n, generator=generator) * (hi - lo) + lo
    cells = (torch.rand(n, h // patch, w // patch, generator=generator) < ratio[:, None, None])
    return cells.float().repeat_interleave(patch, 1).repeat_interleave(patch, 2)[:, None]


def masked_loss(net, decoder, x, mask) -> torch.Tensor:
    """Mean squared error over the masked values of the space-to-depth input x [N, C', H', W']."""
    maps, _ = net.encode(x * (1 - mask))
    err = (decoder(maps) - x).pow(2) * mask
    return err.sum() / (mask.sum() * x.shape[1]).clamp(min=1.0)


def _progress(quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    return Progress(TextColumn("[bold]mae"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("masked MSE {task.fields[loss]:.4f}"), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=quiet, refresh_per_second=4)


def parse(argv):
    ap = parser("train-encoder", __doc__)
    ap.add_argument("--dataset", default=None,
                    help="a registered image dataset (default digits; webdataset with --shards)")
    ap.add_argument("--size", type=int, default=None,
                    help="shapes only: image side (default 32; e.g. 16 for the quick benchmark)")
    ap.add_argument("--shards", default=None, help="shard folder / URLs for --dataset webdataset")
    ap.add_argument("--val_shards", default=None, help="held-out shards (default: the first shard)")
    ap.add_argument("--workers", type=int, default=2, help="shard-decoding DataLoader workers")
    ap.add_argument("--field", default="jpg", choices=("jpg", "npy"),
                    help="train on the shards' images (jpg) or their stored latents (npy)")
    ap.add_argument("--out", required=True, help="state dict path (.pt); its .json is written next to it")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight_decay", type=float, default=0.05)
    ap.add_argument("--base_channels", type=int, default=8)
    ap.add_argument("--layers", default="1,1,1,1", help="blocks per stage, comma separated")
    ap.add_argument("--input_patch_size", type=int, default=1)
    ap.add_argument("--mask_patch", type=int, default=None, help="default: 2 below 16 pixels, else 4")
    ap.add_argument("--mask_ratio_min", type=float, default=0.75)
    ap.add_argument("--mask_ratio_max", type=float, default=0.75)
    ap.add_argument("--cls_steps", type=int, default=0,
                    help="classification fine-tune steps after --steps (0: none)")
    ap.add_argument("--cls_weight", type=float, default=0.1, help="final lambda of the CE")
    ap.add_argument("--cls_warmup", type=int, default=None,
                    help="steps of the linear lambda ramp 0 -> cls_weight (default cls_steps // 3)")
    ap.add_argument("--eval_batch", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def build_dataset(args):
    """The training images: ``args.dataset``, or the ``webdataset`` dataset over ``--shards``
    (pixels, decoded on the CPU by ``--workers`` workers, batches of ``--batch``)."""
    import zoo

    if args.shards is None:
        args.dataset = args.dataset or "digits"
        if args.dataset == "webdataset":
            raise ValueError("train-encoder: --dataset webdataset reads shards: pass --shards DIR "
                             "(drift-zoo make-shards output) and optionally --val_shards DIR")
        if args.size is not None and args.dataset != "shapes":
            raise ValueError(f"train-encoder: --size is a shapes option, got --dataset "
                             f"{args.dataset}")
        return zoo.build("dataset", args.dataset,
                         **({} if args.size is None else {"size": args.size}))
    if args.size is not None:
        raise ValueError("train-encoder: --size is a shapes option; shards keep their own size")
    if args.dataset not in (None, "webdataset"):
        raise ValueError(f"train-encoder: --shards feeds --dataset webdataset, not "
                         f"'{args.dataset}'; drop one of them")
    args.dataset = "webdataset"
    return zoo.build("dataset", "webdataset", urls=args.shards, val_urls=args.val_shards,
                     num_workers=args.workers, device="cpu", batch_size=args.batch,
                     seed=args.seed, conditional=args.cls_steps > 0, field=args.field)


def train_encoder(args) -> dict:
    """Train, save, and return the config written to the .json (shard workers stopped after)."""
    dataset = build_dataset(args)
    try:
        return fit(args, dataset)
    finally:
        if hasattr(dataset, "close"):
            dataset.close()


def check(args, dataset) -> tuple[int, list[int]]:
    """Validate the options against ``dataset``; returns (mask_patch, layers)."""
    shape = getattr(dataset, "shape", None)
    if shape is None:
        raise ValueError(f"dataset '{args.dataset}' is not an image dataset (no shape)")
    _, h, w = shape
    p = args.input_patch_size
    patch = args.mask_patch or (2 if h // p < 16 else 4)
    if h % p or (h // p) % patch or (w // p) % patch or not 0 <= args.mask_ratio_min <= \
            args.mask_ratio_max <= 1 or args.steps < 1 or args.batch < 2:
        raise ValueError(f"need H, W divisible by input_patch_size * mask_patch ({p} * {patch}) "
                         f"for shape {shape}, 0 <= mask_ratio_min <= mask_ratio_max <= 1, "
                         f"steps >= 1 and batch >= 2")
    if args.cls_steps < 0 or not 0 <= args.cls_weight <= 1 or (args.cls_warmup or 0) < 0:
        raise ValueError(f"need cls_steps >= 0, 0 <= cls_weight <= 1 and cls_warmup >= 0, got "
                         f"{args.cls_steps}, {args.cls_weight}, {args.cls_warmup}")
    if args.cls_steps and not getattr(dataset, "conditional", False):
        raise ValueError(f"train-encoder: --cls_steps fine-tunes on the dataset's class labels, "
                         f"but dataset '{args.dataset}' is not class-conditional; use a "
                         f"class-conditional dataset (digits, shapes, shards with labels) or "
                         f"drop --cls_steps")
    return patch, [int(v) for v in args.layers.split(",")]


def fit(args, dataset) -> dict:
    """Train the MAE on ``dataset`` (then the --cls_steps fine-tune), save the encoder, return
    its config."""
    patch, layers = check(args, dataset)
    shape, p = dataset.shape, args.input_patch_size
    c, h, w = shape
    torch.manual_seed(args.seed)
    net = ResNet(c, args.base_channels, layers, p)
    decoder = UNetDecoder(net.channels, c * p * p)
    opt = torch.optim.AdamW([*net.parameters(), *decoder.parameters()], lr=args.lr,
                            weight_decay=args.weight_decay)
    data_gen = torch.Generator().manual_seed(args.seed)
    eval_x = space_to_depth(dataset.held_out(args.eval_batch).view(-1, *shape), p)
    eval_mask = patch_mask(len(eval_x), h // p, w // p, patch, args.mask_ratio_min,
                           args.mask_ratio_max, torch.Generator().manual_seed(10**6))

    def evaluate() -> float:
        with torch.no_grad():
            return masked_loss(net, decoder, eval_x, eval_mask).item()

    def draw(labels=None):
        """(x [B, C p^2, H', W'], mask): a training batch (of classes ``labels``) and its mask."""
        rows = dataset.sample(args.batch, data_gen) if labels is None else \
            dataset.sample_class(labels, data_gen)
        return space_to_depth(rows.view(-1, *shape), p), patch_mask(
            len(rows), h // p, w // p, patch, args.mask_ratio_min, args.mask_ratio_max, data_gen)

    if args.cls_steps:
        check_features(net, eval_x)  # before the reconstruction: fail fast
    before, extra = evaluate(), {}
    with _progress(args.quiet) as bar:
        task = bar.add_task("mae", total=args.steps + args.cls_steps, loss=float("nan"))
        for step in range(1, args.steps + 1):
            loss = masked_loss(net, decoder, *draw())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update(task, completed=step, loss=loss.item())
        if args.cls_steps:
            extra = finetune(args, dataset, net, decoder, opt, draw, data_gen, evaluate,
                             lambda t, loss: bar.update(task, completed=args.steps + t + 1,
                                                        loss=loss))
    config = dict(in_channels=c, base_channels=args.base_channels, layers=list(layers),
                  input_patch_size=p, shape=list(shape), dataset=args.dataset, steps=args.steps,
                  batch=args.batch, lr=args.lr, weight_decay=args.weight_decay, mask_patch=patch,
                  mask_ratio=[args.mask_ratio_min, args.mask_ratio_max], seed=args.seed,
                  eval_loss_before=before, eval_loss_after=evaluate(), cls_steps=args.cls_steps,
                  **extra)
    if args.shards is not None:
        config["shards"], config["val_shards"] = args.shards, args.val_shards
    save_encoder(net, args.out, config)
    return config


def finetune(args, dataset, net, decoder, opt, draw, data_gen, evaluate, on_step) -> dict:
    """The --cls_steps classification fine-tune (``zoo.encoders.cls_finetune``) of the trained
    MAE; returns its .json entries, with the own head's accuracy on ``--eval_batch`` held-out
    images (classes in turn) before (fresh head) and after, and the masked loss before it."""
    k = dataset.num_classes
    head = ClsHead(net.channels[-1], k)
    opt.add_param_group({"params": list(head.parameters())})
    labels = torch.arange(args.eval_batch) % k
    eval_x = space_to_depth(dataset.held_out_class(labels).view(-1, *dataset.shape),
                            args.input_patch_size)
    warmup = args.cls_steps // 3 if args.cls_warmup is None else args.cls_warmup
    out = dict(cls_weight=args.cls_weight, cls_warmup=warmup, eval_loss_before_cls=evaluate(),
               cls_accuracy_before=head_accuracy(net, head, eval_x, labels))

    def batches():
        y = torch.randint(k, (args.batch,), generator=data_gen)
        x, mask = draw(y)
        return x, y, mask

    cls_finetune(net, head, opt, batches, lambda x, mask: masked_loss(net, decoder, x, mask),
                 args.cls_steps, args.cls_weight, warmup, on_step)
    out["cls_accuracy_after"] = head_accuracy(net, head, eval_x, labels)
    return out


def main(argv=None) -> int:
    args = parse(argv)
    from rich.console import Console

    try:
        config = train_encoder(args)
    except (ValueError, KeyError, FileNotFoundError) as err:
        return print_error(err)
    Console(soft_wrap=True).print(
        f"held-out masked MSE {config['eval_loss_before']:.4f} -> {config['eval_loss_after']:.4f} "
        f"({config['steps']} steps); wrote {args.out} and {Path(args.out).with_suffix('.json')}")
    if config["cls_steps"]:
        Console(soft_wrap=True).print(
            f"cls fine-tune ({config['cls_steps']} steps, lambda -> {config['cls_weight']}): "
            f"own head's held-out accuracy {config['cls_accuracy_before']:.3f} -> "
            f"{config['cls_accuracy_after']:.3f}, masked MSE {config['eval_loss_before_cls']:.4f}"
            f" -> {config['eval_loss_after']:.4f}")
    return 0
