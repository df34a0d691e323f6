"""Train the evaluator classifier (``zoo.metrics.evaluator``) for an image dataset.

    drift-zoo train-evaluator --dataset digits --out results/evaluators/digits.pt
    drift-zoo train-evaluator --dataset shapes --out results/evaluators/shapes.pt
    drift-zoo train-evaluator --dataset shapes --size 16 --out results/evaluators/shapes16.pt
    drift-zoo train-evaluator --dataset shapes --blur 1.5 --steps 2000 \
        --out results/evaluators/shapes_blur.pt

``--blur S`` blurs every training image with a Gaussian of sigma ~ U[0, S] pixels
(``zoo.metrics.blur``): an evaluator that reads the shape, not the sharpness of its edges. The
committed ``shapes.pt`` is trained without it and is what runs are scored with; ``shapes_blur.pt``
is the second opinion of results/images.md ("What the class accuracy measures"). The JSON then
also holds the held-out accuracy after a 0.5 / 1 / 1.5 pixel blur.

Seeded (model init and data stream), CPU by default; reports the held-out accuracy (digits:
the 359-image test split; shapes: 1200 balanced held-out draws) and writes the checkpoint
(state dict + config, ``weights_only``-loadable) and a JSON of its config and accuracy.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from zoo.cli import parser
from zoo.run.report import print_error

STEPS = {"digits": 1500, "shapes": 800}   # each well under 3 minutes on one CPU thread
BATCH = {"digits": 128, "shapes": 64}
BLUR_CHECK = (0.5, 1.0, 1.5)  # held-out accuracy after these blurs (pixels) goes in the JSON


def main(argv=None) -> int:
    ap = parser("train-evaluator", __doc__)
    ap.add_argument("--dataset", required=True, choices=sorted(STEPS))
    ap.add_argument("--out", required=True, help="checkpoint path (.pt); a .json goes beside it")
    ap.add_argument("--steps", type=int, default=None, help=f"Adam steps (default {STEPS})")
    ap.add_argument("--batch_size", type=int, default=None, help=f"default {BATCH}")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=None, help="channels of the first stage")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=None,
                    help="shapes only: image side (default 32); a run of shapes at size S "
                         "scores with results/evaluators/shapes<S>.pt")
    ap.add_argument("--blur", type=float, default=0.0,
                    help="max Gaussian blur sigma (pixels) of the training images (default 0)")
    args = ap.parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    import zoo  # noqa: F401  (registers the datasets)
    from zoo.metrics import evaluator as ev
    from zoo.metrics.blur import blur
    from zoo.registry import build

    steps = args.steps if args.steps is not None else STEPS[args.dataset]
    batch = args.batch_size if args.batch_size is not None else BATCH[args.dataset]
    if args.blur < 0:
        return print_error(f"--blur must be >= 0 pixels, got {args.blur}")
    if steps < 1 or batch < 2:
        return print_error(f"--steps must be >= 1 and --batch_size >= 2, got {steps}, {batch}")
    if args.size is not None and args.dataset != "shapes":
        return print_error(f"--size is a shapes option (digits are 8x8), got --dataset {args.dataset}")
    torch.manual_seed(args.seed)
    dataset = build("dataset", args.dataset, **({} if args.size is None else {"size": args.size}))
    model = ev.ImageEvaluator(dataset.shape, dataset.num_classes,
                              args.width or ev.DEFAULT_WIDTH[args.dataset])
    progress = Progress(TextColumn(f"[bold]evaluator {args.dataset}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.4f}"),
                        console=console, refresh_per_second=4)
    t0 = time.perf_counter()
    with progress:
        task = progress.add_task("train", total=steps, loss=float("nan"))
        ev.fit(model, dataset, steps, batch_size=batch, lr=args.lr, seed=args.seed,
               blur=args.blur, callback=lambda s, loss: progress.update(task, completed=s, loss=loss))
    x, labels = ev.test_set(dataset)
    acc = ev.accuracy(model, x, labels)
    blurred = {f"test_accuracy_blur_{s}": round(ev.accuracy(model, blur(model.images(x), s),
                                                           labels), 4)
               for s in BLUR_CHECK} if dataset.shape[1] > 8 else {}
    wall = time.perf_counter() - t0
    ev.save_evaluator(model, args.out, {
        "dataset": getattr(dataset, "evaluator", args.dataset), "test_accuracy": round(acc, 4),
        "test_size": len(labels), **blurred, "blur": args.blur,
        "steps": steps, "batch_size": batch, "lr": args.lr, "seed": args.seed,
        "wall_time_s": round(wall, 1), "command": " ".join(["drift-zoo train-evaluator"]
                                                          + (argv or sys.argv[1:]))})
    size = Path(args.out).stat().st_size
    console.print(f"{args.dataset}: test accuracy {acc:.4f} on {len(labels)} held-out images "
                  + "".join(f", {v:.4f} blurred {k.rsplit('_', 1)[1]} px"
                            for k, v in blurred.items())
                  + f"; {steps} steps in {wall:.0f} s; wrote {args.out} ({size / 1024:.0f} KiB)")
    return 0
