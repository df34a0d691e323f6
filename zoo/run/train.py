"""The training loop, and only the loop: the one gin-configurable root of drift-zoo.

Each step (Deng et al. 2026, Alg. 1):  z ~ N(0,I);  x = f(z);  y+ ~ p;  (y-, w-) = mix(x, y+);
    loss = mean_b drift_loss(x, y+, y-)    (zoo.drift: mean ||x' - stopgrad(x' + V)||^2)
with the extra negatives y- of ``train.negatives`` (zoo.negatives; x itself is always one) and
the positives y+ of ``train.positives`` (zoo.positives: fresh draws, or the release's banks).
Then an optimizer step and an EMA update of the weights. Every choice is a registered component
bound in gin (``train.dataset = @checkerboard()``, ``train.field = @meanshift``, ...).

With a frozen encoder phi (``train.encoder = @identity()``, ``@random_conv()``, ``@mae()``;
default None: the flat path above, unchanged) on an image dataset (``dataset.shape`` = (C, H, W);
its rows are [n, C*H*W]), the step drifts in feature space (``zoo.features``):
    x = f(z) as images;  feats = phi(x) (gradients reach f);  phi(y+), phi(y-) under no_grad
    loss = mean_b feature_drift_loss(feats, phi(y+), phi(y-))   (sum over feature sets)
The drift target is rebuilt inside every feature_drift_loss call, so an encoder run takes one
optimizer step per target: it requires ``train.inner_steps = 1`` (checked before training).

Each step's inputs (one group, or one per class on class-conditional data) are drawn by
``zoo.run.batches``; sampling and restoring a trained generator live in ``zoo.run.sampling``.

Runs are deterministic on CPU for a seed; the checkpoint carries the model, EMA, optimizer,
both RNG streams (noise, data), the negatives' state (a queue) and the positives' (banks), so
a resumed run ends bit-identical to an uninterrupted one.
SIGINT/SIGTERM finish the current step, checkpoint and exit cleanly.

Distributed (``torchrun --nproc_per_node N tools/train.py ...``; ``zoo.dist``): every rank draws
the same global step from the same RNG streams and keeps its block of C / N classes
(``Batch.shard``); the generator runs under DistributedDataParallel (gradients averaged, so the
update is the one-process update on the whole batch) and the drift's scale and force RMS are
averaged over ranks, so a run's loss curve does not depend on N (to float32 rounding). Needs
class-conditional data, C divisible by N, and negatives that act within a group (``self``,
``cfg``). Stats are averaged over ranks; rank 0 alone logs, evaluates and writes the run folder
(the others read it: a shared filesystem across nodes). Checkpoints hold the unwrapped model and
the global RNG streams, so a run resumes in any world size and continues the same curve.
"""
from __future__ import annotations

import copy
import math
import signal
import time
from contextlib import contextmanager
from types import SimpleNamespace

import gin
import torch

from zoo import dist
from zoo.run import folder as runs_lib
from zoo.run.batches import Batch, class_plan, draw
from zoo.data import check_dataset
from zoo.drift import check_temperatures, drift, scaled_loss
from zoo.run import feature_step
from zoo.fields import meanshift
from zoo.generators import mlp
from zoo.kernels import laplace
from zoo.run.evaluation import assess, samples_picture
from zoo import negatives as negatives_lib
from zoo.negatives import Negatives, check_supported
from zoo.run.state import State
from zoo import positives as positives_lib
from zoo.positives import Positives
from zoo.run.plots import curves_png
from zoo.registry import name_of
from zoo.run.defaults import EVAL_SAMPLES, EVAL_SEED_OFFSET, SEED
from zoo.run.sampling import make_generator
from zoo import optimizers
from zoo.schedules import constant
from zoo.run.progress import StepProgress


def _validate(batch_size, data_batch_size, steps, ema_decay, temperatures, inner_steps):
    if batch_size < 2:
        raise ValueError(f"train.batch_size must be >= 2 (the field needs other generated "
                         f"samples as negatives), got {batch_size}")
    if data_batch_size is not None and data_batch_size < 1:
        raise ValueError(f"train.data_batch_size must be >= 1, got {data_batch_size}")
    if inner_steps < 1:
        raise ValueError(f"train.inner_steps must be >= 1, got {inner_steps}")
    if steps < 1:
        raise ValueError(f"train.steps must be >= 1, got {steps}")
    if not 0 <= ema_decay < 1:
        raise ValueError(f"train.ema_decay must be in [0, 1), got {ema_decay}")
    check_temperatures(temperatures)


@contextmanager
def _stop_on_signal():
    """Turn SIGINT/SIGTERM into a flag checked between steps (main thread only)."""
    flag = {"stop": False}
    handlers = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, lambda *_: flag.update(stop=True))
    except ValueError:  # not the main thread
        pass
    try:
        yield flag
    finally:
        for sig, h in handlers.items():
            signal.signal(sig, h)


@torch.no_grad()
def _ema_update(ema, model, decay):
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - decay)


def _evaluate(model, cfg):
    """(metrics, samples, held-out data, labels) for ``cfg.eval_samples`` samples on the eval
    seed (``zoo.run.evaluation.assess``: point-cloud metrics, or evaluator metrics for images);
    a model on an accelerator is sampled through ``dist.OnDevice`` (samples on the CPU)."""
    where = next(model.parameters()).device
    if where.type != "cpu":
        model = dist.OnDevice(model, where)
    return assess(model, cfg.dataset, cfg.eval_samples, cfg.seed + EVAL_SEED_OFFSET)


def _optimizer_step(st, loss: torch.Tensor, grad_clip) -> None:
    st.opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(st.model.parameters(), grad_clip)
    st.opt.step()


def _update(st, batch: Batch, cfg, temps) -> dict:
    """One drift target, ``inner_steps`` optimizer steps toward it; returns float stats.

    The extra negatives come from ``cfg.negatives`` (groups: one, or one per class).

    loss = mean ||f(z)/c - stopgrad(goal')||^2 with goal' from the first forward pass (Alg. 1);
    inner steps > 1 regress the same z onto the same fixed goal again, which lets a smooth
    generator follow a field that changes direction on short length scales. With an encoder
    the loss is ``feature_step.loss`` (one inner step, checked before training).
    """
    model = st.net  # the DDP wrapper under torchrun: its backward averages the gradients
    x = batch.generate(model)
    if dist.any_rank(not torch.isfinite(x).all()):
        return {"loss": float("nan")}  # diverged generator: reported as a non-finite loss
    neg, neg_w = cfg.negatives(x.detach(), st.step, pos=batch.pos, uncond=batch.uncond,
                               generator=st.data)
    if cfg.encoder is not None:
        first, stats = feature_step.loss(x, batch.pos, neg, neg_w, cfg, temps)
    else:
        goal, c, stats = drift(x.detach(), batch.pos, neg, field=cfg.field, kernel=cfg.kernel,
                               temperatures=temps, neg_w=neg_w)
        stats = {key: float(v) for key, v in stats.items()}
        first = scaled_loss(x, goal, c).mean()
    if batch.alpha is not None:
        stats["alpha"] = float(batch.alpha.mean())
    stats["loss"] = first.item()
    stats = dist.mean_stats(stats)  # over ranks: the global batch's loss; identity alone
    if not math.isfinite(stats["loss"]):
        return stats
    _optimizer_step(st, first, cfg.grad_clip)
    for _ in range(1, cfg.inner_steps):
        _optimizer_step(st, scaled_loss(batch.generate(model), goal, c).mean(), cfg.grad_clip)
    return stats


def _check_same_config(run, config_text: str) -> None:
    """Refuse to resume a run folder that was started with another config."""
    saved = run.file("config.gin")
    if config_text and saved.exists() and saved.read_text() != config_text:
        raise ValueError(f"run folder {run.path} holds a run with a different config "
                         f"(see its config.gin); pass another --workdir or delete the folder")


def _build(cfg) -> State:
    """Model (on ``dist.device()``, the same initial weights on every rank), EMA, optimizer,
    streams."""
    torch.manual_seed(cfg.seed)
    model = make_generator(cfg.generator, cfg.dataset).to(dist.device())
    opt = cfg.optimizer(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                        weight_decay=cfg.weight_decay)
    cfg.negatives.reset()  # a gin-built strategy object may outlive one train() call
    cfg.positives.reset(cfg.dataset)
    return State(model, copy.deepcopy(model).requires_grad_(False), opt,
                 torch.Generator().manual_seed(cfg.seed), torch.Generator().manual_seed(cfg.seed + 1),
                 cfg.negatives, cfg.positives, net=dist.ddp(model))


@gin.configurable(denylist=["workdir", "config_text", "progress"])
def train(workdir=None, config_text: str = "", progress: bool = True, *,
          dataset=gin.REQUIRED, generator=mlp, encoder=None, field=meanshift, kernel=laplace,
          negatives=negatives_lib.self, positives=positives_lib.fresh,
          temperatures=(0.02, 0.05, 0.2), temperature_schedule=constant(), steps: int = 2000,
          seed: int = SEED, batch_size: int = 2048, data_batch_size: int | None = None,
          optimizer=optimizers.adam, lr: float = 1e-3, lr_schedule=constant(),
          betas=(0.9, 0.999), weight_decay: float = 0.0,
          grad_clip: float | None = None, inner_steps: int = 1, ema_decay: float = 0.999,
          classes_per_step: int | None = None, uncond_per_class: int | None = None,
          log_every: int = 10, eval_every: int = 500, eval_samples: int = EVAL_SAMPLES,
          checkpoint_every: int = 500) -> dict:
    """Train a drifting model; returns the run's summary dict. README lists every knob."""
    cfg = SimpleNamespace(**{k: v for k, v in locals().items()
                             if k not in ("workdir", "config_text", "progress")})
    cfg.data_batch_size = data_batch_size or batch_size
    _validate(batch_size, data_batch_size, steps, ema_decay, temperatures, inner_steps)
    dist.setup()  # idempotent; tools/train.py sets up before gin builds the dataset
    check_dataset(dataset)
    cfg.encoder = feature_step.check_encoder(encoder, dataset, inner_steps)
    if cfg.encoder is not None:
        cfg.encoder = cfg.encoder.to(dist.device())
    cfg.negatives = negatives if isinstance(negatives, Negatives) else negatives()
    cfg.positives = positives if isinstance(positives, Positives) else positives()
    check_supported(cfg.negatives, dataset)
    cfg.conditional = bool(getattr(dataset, "conditional", False))
    cfg.plan = class_plan(cfg) if cfg.conditional else None
    dist.check_split(cfg.conditional, cfg.dataset.name, name_of(cfg.negatives))
    st = _build(cfg)
    names = dict(generator=name_of(st.model), field=name_of(field), kernel=name_of(kernel),
                 negatives=name_of(cfg.negatives))
    run_cls = runs_lib.Run if dist.is_main() else runs_lib.ReadOnlyRun
    run = run_cls(workdir or runs_lib.RUNS / runs_lib.run_name(config_text, seed=seed, **names))
    run.create()
    if run.exists():
        _check_same_config(run, config_text)
        st.load(run.load_checkpoint())
        run.truncate_records(st.step)
    else:
        run.write_text("config.gin", config_text)
    start = st.step
    summary = run.update_summary(status="running", workdir=str(run.path), steps=steps, seed=seed,
                                 dataset=dataset.name, **names, positives=name_of(cfg.positives),
                                 git_commit=runs_lib.git_commit(),
                                 **({} if cfg.encoder is None
                                    else {"encoder": name_of(cfg.encoder)}),
                                 resumed_from=start or None)
    if start >= steps and summary.get("final_metrics"):
        return run.update_summary(status="finished")
    try:
        with _stop_on_signal() as stop, StepProgress(steps, start,
                                                     enabled=progress and dist.is_main()) as bar:
            _loop(run, bar, stop, st, cfg)
    except BaseException as err:  # noqa: BLE001 -- record every way a run can die, then re-raise
        run.update_summary(status="failed", error=f"{type(err).__name__}: {err}")
        raise
    run.save_checkpoint(st.to_dict())
    if st.step < steps:
        return run.update_summary(status="interrupted", step=st.step, wall_time=st.wall)
    return _finish(run, st, cfg, start)


def _finish(run, st: State, cfg, start: int) -> dict:
    """Final evaluation, pictures and the finished summary (rank 0; the others wait for it)."""
    if not dist.is_main():
        dist.barrier()
        return run.update_summary(status="finished", step=st.step)
    metrics, samples, data, labels = _evaluate(st.ema, cfg)
    run.log({"kind": "eval", "step": st.step, **metrics})
    samples_picture(run.file("samples.png"), cfg.dataset, data, samples, labels, run.path.name)
    curves_png(run.file("curves.png"), run.records())
    rate = (st.step - start) / st.wall if st.wall > 0 else None
    summary = run.update_summary(status="finished", step=st.step, wall_time=round(st.wall, 2),
                                 steps_per_s=rate and round(rate, 3), final_metrics=metrics,
                                 error=None)
    dist.barrier()
    return summary


def _loop(run, bar, stop, st: State, cfg) -> None:
    """Steps st.step+1 .. cfg.steps (or until a stop signal), logging and checkpointing."""
    first = st.step + 1
    while st.step < cfg.steps and not dist.any_rank(stop["stop"]):
        t0 = time.perf_counter()
        frac = st.step / cfg.steps
        temps = tuple(t * cfg.temperature_schedule(frac) for t in cfg.temperatures)
        for group in st.opt.param_groups:
            group["lr"] = cfg.lr * cfg.lr_schedule(frac)
        stats = _update(st, _local_batch(st, cfg), cfg, temps)
        if not math.isfinite(stats["loss"]):
            kept = run.load_checkpoint()["step"] if run.exists() else None
            raise FloatingPointError(
                f"non-finite loss ({stats['loss']}) at step {st.step + 1}; the last good "
                f"checkpoint (step {kept}) is kept. Lower train.lr or set train.grad_clip")
        _ema_update(st.ema, st.model, cfg.ema_decay)
        st.step += 1
        st.wall += time.perf_counter() - t0
        if st.step == first:
            run.write_text("operative_config.gin", gin.operative_config_str())
        _record(run, bar, st, cfg, stats, temps)


def _local_batch(st: State, cfg) -> Batch:
    """The step's global draw (zoo.run.batches), this rank's block of classes, on its device."""
    batch = draw(st, cfg)
    if dist.world() > 1:
        batch = batch.shard(dist.block(cfg.plan.classes), cfg.negatives)
    return batch.to(dist.device())


def _base_key(key: str, rename: dict) -> str:
    """A stat's key with scheduled temperatures named by their base values: ``drift_rms/<t>``
    and, for an encoder's feature sets, ``<set>/drift_rms/<t>``."""
    if key in rename:
        return rename[key]
    head, sep, tail = key.rpartition("/drift_rms/")
    flat = "drift_rms/" + tail
    return f"{head}/{rename[flat]}" if sep and flat in rename else key


def _record(run, bar, st: State, cfg, stats: dict, temps) -> None:
    """Progress bar, metrics.jsonl, periodic evaluation and checkpoint after a step."""
    rename = {f"drift_rms/{t:g}": f"drift_rms/{b:g}" for t, b in zip(temps, cfg.temperatures)}
    rec = {_base_key(k, rename): round(v, 6) for k, v in stats.items()}
    bar.update(st.step, rec["loss"], rec.get("drift_rms", float("nan")))
    if st.step % cfg.log_every == 0 or st.step == cfg.steps:
        run.log({"kind": "train", "step": st.step, **rec, "steps_per_s": bar.rate()})
    if st.step >= cfg.steps:
        return
    if cfg.eval_every and st.step % cfg.eval_every == 0 and dist.is_main():
        metrics = _evaluate(st.ema, cfg)[0]
        run.log({"kind": "eval", "step": st.step, **metrics})
        bar.evaluated(metrics)  # headline metrics stay in the bar until the next eval
    if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0:
        run.save_checkpoint(st.to_dict())
