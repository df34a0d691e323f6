"""``profile_step``: where one image training step spends its time, by phase, and steps/s.

    drift-zoo bench profile_step --threads 2 --markdown results/profile_step.md

Runs ``zoo.run.train.train`` for ``--steps`` steps of each recipe in a temporary run folder and
times every phase of a step by wrapping the functions the loop calls (no change to the loop):

    data           zoo.run.train._local_batch (positives, classes, noise)
    generator fwd  zoo.run.batches.Batch.generate
    encoder fwd    zoo.run.feature_step.features (generated rows with grad, positives, negatives)
    drift          zoo.run.feature_step.feature_drift_loss (every feature set's drift target + loss)
    encoder bwd    loss.backward() until the gradient reaches the generated images (a tensor hook)
    generator bwd  the rest of loss.backward()
    optimizer      zoo.run.train._optimizer_step less its backward (zero_grad, clip, step)
    ema, other     zoo.run.train._ema_update; the rest of the step (negatives, stats)

Recipes: ``shapes`` = gin/experiments/shapes.gin with ``train.encoder = @random_conv()`` (6
classes x 16 images, split field, 35 feature sets); ``imagenet_cpu`` = the ImageNet ablation
recipe's drift (gin/experiments/imagenet_latent_b.gin: meanshift, laplace, CFG negatives with
alpha in [1, 4], unconditional reals) shrunk to CPU size: shapes data, ``dit_tiny`` generator,
6 classes x 16 generated / 16 positive / 8 unconditional, random_conv encoder. The first step
(warm-up) is not counted; times are this process's CPU seconds (``time.process_time``: waiting
for a core on a shared machine is not counted; with ``--threads 1`` it is the wall time of a
quiet machine), summed over the counted steps; steps/s = 1 / CPU seconds per step.
"""
from __future__ import annotations

import contextlib
import tempfile
import time
from collections import defaultdict

import gin
import torch
from rich.console import Console

import zoo
from zoo.run import batches, feature_step
from zoo.run import train as train_lib

from zoo.bench.common import Report

NAME, HELP = "profile_step", "one image training step by phase (generator, encoder, drift, optimizer)"

RECIPES = {
    "shapes": ["train.encoder = @random_conv()"],
    "imagenet_cpu": ["train.encoder = @random_conv()", "train.generator = @dit_tiny",
                     "dit_tiny.patch = 4", "train.field = @meanshift", "train.kernel = @laplace",
                     "train.negatives = @cfg()", "cfg.alpha_min = 1.0", "cfg.alpha_max = 4.0",
                     "cfg.power = 5.0", "cfg.no_cfg_frac = 0.0", "train.classes_per_step = 6",
                     "train.uncond_per_class = 8"],
}
CLOCK = time.process_time  # CPU seconds of this process: robust on a shared, loaded machine
PHASES = ["data", "generator fwd", "encoder fwd", "drift", "encoder bwd", "generator bwd",
          "optimizer", "ema", "other"]


def add_arguments(p) -> None:
    p.add_argument("--steps", type=int, default=6, help="steps per recipe (the first is warm-up)")
    p.add_argument("--recipes", default="shapes,imagenet_cpu")


class Clock:
    """Seconds per phase, summed over counted steps; ``wrap`` times a function as a phase."""

    def __init__(self):
        self.t = defaultdict(float)
        self.counting = False

    def add(self, phase: str, dt: float) -> None:
        if self.counting:
            self.t[phase] += dt

    def wrap(self, owner, name: str, phase: str, stack):
        fn = getattr(owner, name)

        def timed(*a, **kw):
            t0 = CLOCK()
            try:
                return fn(*a, **kw)
            finally:
                self.add(phase, CLOCK() - t0)
        stack.enter_context(_patched(owner, name, timed))


@contextlib.contextmanager
def _patched(owner, name, value):
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def instrument(clock: Clock, stack) -> None:
    """Wrap the loop's functions; split backward at the generated images' gradient."""
    for owner, name, phase in [(train_lib, "_local_batch", "data"),
                               (batches.Batch, "generate", "generator fwd"),
                               (feature_step, "feature_drift_loss", "drift"),
                               (train_lib, "_ema_update", "ema")]:
        clock.wrap(owner, name, phase, stack)
    marks = {}
    features = feature_step.features

    def features_timed(encoder, rows, shape):
        if rows.requires_grad:
            rows.register_hook(lambda g: marks.__setitem__("reached", CLOCK()))
        t0 = CLOCK()
        out = features(encoder, rows, shape)
        clock.add("encoder fwd", CLOCK() - t0)
        return out
    stack.enter_context(_patched(feature_step, "features", features_timed))
    step = train_lib._optimizer_step

    def optimizer_step(st, loss, grad_clip):
        t0 = CLOCK()
        backward = loss.backward

        def timed_backward(*a, **kw):
            b0 = CLOCK()
            backward(*a, **kw)
            end = CLOCK()
            reached = marks.pop("reached", end)
            clock.add("encoder bwd", reached - b0)
            clock.add("generator bwd", end - reached)
            clock.add("optimizer", -(end - b0))
        loss.backward = timed_backward
        step(st, loss, grad_clip)
        clock.add("optimizer", CLOCK() - t0)
    stack.enter_context(_patched(train_lib, "_optimizer_step", optimizer_step))
    update, loop_step = train_lib._update, {"n": 0}

    def update_timed(st, batch, cfg, temps):
        clock.counting = loop_step["n"] > 0
        loop_step["n"] += 1
        t0 = CLOCK()
        out = update(st, batch, cfg, temps)
        clock.add("_update", CLOCK() - t0)
        return out
    stack.enter_context(_patched(train_lib, "_update", update_timed))


def profile(recipe: str, args) -> dict:
    """Phase seconds summed over the counted steps of one recipe, plus 'steps'."""
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        gin.clear_config()
        gin.parse_config_files_and_bindings(
            ["gin/experiments/shapes.gin"],
            RECIPES[recipe] + [f"train.steps = {args.steps}", "train.eval_every = 0",
                               "train.eval_samples = 96", "train.checkpoint_every = 100000",
                               "train.log_every = 100000", f"train.seed = {args.seed}"])
        instrument(clock, stack)
        torch.manual_seed(args.seed)
        train_lib.train(workdir=tmp, progress=False)
        gin.clear_config()
    t = dict(clock.t)
    inside = sum(t.get(p, 0.0) for p in ("generator fwd", "encoder fwd", "drift", "encoder bwd",
                                          "generator bwd", "optimizer"))
    t["other"] = t.pop("_update", 0.0) - inside
    t["steps"] = args.steps - 1
    return t


def run(args) -> Report:
    console = Console(stderr=True)
    report = Report("one training step by phase: seconds per step (share of the step)",
                    ["recipe", *PHASES, "step", "steps/s"])
    for recipe in filter(None, args.recipes.split(",")):
        with console.status(f"profiling {recipe}"):
            t = profile(recipe, args)
        total = sum(t.get(p, 0.0) for p in PHASES)
        per = lambda p: t.get(p, 0.0) / t["steps"]
        report.rows.append([recipe, *(f"{per(p):.3f} ({100 * t.get(p, 0.0) / total:.0f}%)"
                                      for p in PHASES), f"{total / t['steps']:.3f}",
                            f"{t['steps'] / total:.2f}"])
    report.notes = [f"CPU seconds per step, summed over {args.steps - 1} steps after one warm-up "
                    f"step, seed {args.seed}; see `drift-zoo bench profile_step --help`."]
    return report
