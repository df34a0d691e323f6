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

``train``'s parameters are checked and resolved into a frozen ``zoo.run.settings.TrainConfig``
(``settings``) before anything is built. Each step's inputs (one group, or one per class on
class-conditional data, with the step's guidance scales ``alpha_per_group``) are drawn by
``zoo.run.batches``; sampling and restoring a trained generator live in ``zoo.run.sampling``.

Runs are deterministic on CPU for a seed; the checkpoint carries the model, EMA, optimizer,
both RNG streams (noise, data), the negatives' state (a queue) and the positives' (banks), so
a resumed run ends bit-identical to an uninterrupted one.
SIGINT/SIGTERM finish the current step, checkpoint and exit cleanly. The run folder is held
with its writer lock (``Run.lock("train")``) for the whole call. A non-finite loss or weights
stop the run, and no checkpoint with a non-finite model / EMA / optimizer value is written
("the last good checkpoint (step K) is kept"). Any exception after the start -- in the loop or
in the final evaluation -- marks summary.json ``failed`` (one-line ``error``), writes the full
traceback to ``error.txt`` and is re-raised.

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
import traceback
from contextlib import contextmanager

import gin
import torch

from zoo import dist
from zoo.run import folder as runs_lib
from zoo.run.batches import Batch, draw
from zoo.drift import drift, scaled_loss
from zoo.run import feature_step
from zoo.fields import meanshift
from zoo.generators import mlp
from zoo.kernels import laplace
from zoo.run.evaluation import assess, samples_picture
from zoo import negatives as negatives_lib
from zoo.run.settings import TrainConfig, resolve
from zoo.gin_statements import same_config
from zoo.run.state import State, all_finite, nonfinite
from zoo import positives as positives_lib
from zoo.run.plots import curves_png
from zoo.registry import name_of
from zoo.run.defaults import EVAL_SAMPLES, EVAL_SEED_OFFSET, SEED
from zoo.run.sampling import make_generator
from zoo import optimizers
from zoo.schedules import constant
from zoo.run.progress import StepProgress
from zoo.run import tensorboard


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


def _evaluate(model, settings: TrainConfig):
    """(metrics, samples, held-out data, labels) for ``settings.eval_samples`` samples on the
    eval seed (``zoo.run.evaluation.assess``: point-cloud metrics, or evaluator metrics for
    images); a model on an accelerator is sampled through ``dist.OnDevice`` (samples on the CPU)."""
    where = next(model.parameters()).device
    if where.type != "cpu":
        model = dist.OnDevice(model, where)
    return assess(model, settings.dataset, settings.eval_samples,
                  settings.seed + EVAL_SEED_OFFSET)


def _optimizer_step(st, loss: torch.Tensor, grad_clip) -> None:
    st.opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(st.model.parameters(), grad_clip)
    st.opt.step()


def _update(st, batch: Batch, settings: TrainConfig, temps) -> dict:
    """One drift target, ``inner_steps`` optimizer steps toward it; returns float stats.

    The extra negatives come from ``settings.negatives`` (groups: one, or one per class), with
    the batch's guidance scales ``batch.alpha_per_group`` passed in.

    loss = mean ||f(z)/c - stopgrad(goal')||^2 with goal' from the first forward pass (Alg. 1);
    inner steps > 1 regress the same z onto the same fixed goal again, which lets a smooth
    generator follow a field that changes direction on short length scales. With an encoder
    the loss is ``feature_step.loss`` (one inner step, checked before training).
    """
    model = st.net  # the DDP wrapper under torchrun: its backward averages the gradients
    x = batch.generate(model)
    if dist.any_rank(not torch.isfinite(x).all()):
        return {"loss": float("nan")}  # diverged generator: reported as a non-finite loss
    batch = settings.positives.select(batch, x.detach(), settings.encoder)  # knn: x's nearest
    neg, neg_w = settings.negatives(x.detach(), st.step, alpha=batch.alpha_per_group,
                                    pos=batch.pos, uncond=batch.uncond, generator=st.data)
    if settings.encoder is not None:
        first, stats = feature_step.loss(
            x, batch.pos, neg, neg_w, encoder=settings.encoder, shape=settings.dataset.shape,
            field=settings.field, kernel=settings.kernel, temperatures=temps)
    else:
        goal, c, stats = drift(x.detach(), batch.pos, neg, field=settings.field,
                               kernel=settings.kernel, temperatures=temps, neg_w=neg_w)
        stats = {key: float(v) for key, v in stats.items()}
        first = scaled_loss(x, goal, c).mean()
    if batch.alpha_per_group is not None:
        stats["alpha"] = float(batch.alpha_per_group.mean())
    stats["loss"] = first.item()
    stats = dist.mean_stats(stats)  # over ranks: the global batch's loss; identity alone
    if not math.isfinite(stats["loss"]):
        return stats
    _optimizer_step(st, first, settings.grad_clip)
    for _ in range(1, settings.inner_steps):
        _optimizer_step(st, scaled_loss(batch.generate(model), goal, c).mean(),
                        settings.grad_clip)
    return stats


def _check_same_config(run, config_text: str) -> None:
    """Refuse to resume a run folder that was started with another config (other statements;
    comments may differ: ``zoo.gin_statements``)."""
    saved = run.file("config.gin")
    if config_text and saved.exists() and not same_config(saved.read_text(), config_text):
        raise ValueError(f"run folder {run.path} holds a run with a different config "
                         f"(see its config.gin); pass another --workdir or delete the folder")


def _build(settings: TrainConfig) -> State:
    """Model (on ``dist.device()``, the same initial weights on every rank), EMA, optimizer,
    streams."""
    torch.manual_seed(settings.seed)
    model = make_generator(settings.generator, settings.dataset).to(dist.device())
    opt = settings.optimizer(model.parameters(), lr=settings.lr, betas=settings.betas,
                             weight_decay=settings.weight_decay)
    settings.negatives.reset()  # a gin-built strategy object may outlive one train() call
    settings.positives.reset(settings.dataset)
    return State(model, copy.deepcopy(model).requires_grad_(False), opt,
                 torch.Generator().manual_seed(settings.seed),
                 torch.Generator().manual_seed(settings.seed + 1),
                 settings.negatives, settings.positives, net=dist.ddp(model),
                 dataset=settings.dataset)


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
    params = {k: v for k, v in locals().items() if k not in ("workdir", "config_text", "progress")}
    dist.setup()  # idempotent; tools/train.py sets up before gin builds the dataset
    settings = resolve(**params)  # every check before anything is built or written
    st = _build(settings)
    names = dict(generator=name_of(st.model), field=name_of(field), kernel=name_of(kernel),
                 negatives=name_of(settings.negatives))
    run_cls = runs_lib.Run if dist.is_main() else runs_lib.ReadOnlyRun
    run = run_cls(workdir or runs_lib.RUNS / runs_lib.run_name(config_text, seed=seed, **names))
    with run.lock("train"):  # FolderBusy (ValueError) at once when another writer holds it
        return _attempt(run, st, settings, config_text, names, progress)


def _attempt(run, st: State, settings: TrainConfig, config_text: str, names: dict,
             progress: bool) -> dict:
    """Resume or start the run in ``run`` and train it to the end; a finished run is reported
    as it is. Any exception after the start marks it failed (summary.json: one line;
    error.txt: the traceback) and is re-raised."""
    if run.exists():
        _check_same_config(run, config_text)
        st.load(run.load_checkpoint())
        run.truncate_records(st.step)
    else:
        run.write_text("config.gin", config_text)
    start = st.step
    if start >= settings.steps and (run.summary() or {}).get("final_metrics"):
        return run.update_summary(status="finished")  # rerun of a finished run: nothing else
    run.discard(runs_lib.ERROR)
    run.update_summary(status="running", workdir=str(run.path), steps=settings.steps,
                       seed=settings.seed, dataset=settings.dataset.name, **names,
                       positives=name_of(settings.positives), git_commit=runs_lib.git_commit(),
                       **runs_lib.environment(),
                       **({} if settings.encoder is None
                          else {"encoder": name_of(settings.encoder)}),
                       resumed_from=start or None)
    try:
        with tensorboard.mirror(run):
            with _stop_on_signal() as stop, StepProgress(
                    settings.steps, start, enabled=progress and dist.is_main()) as bar:
                _loop(run, bar, stop, st, settings)
            _save(run, st)
            if st.step < settings.steps:
                return run.update_summary(status="interrupted", step=st.step, wall_time=st.wall)
            return _finish(run, st, settings, start)
    except BaseException as err:  # noqa: BLE001 -- record every way a run can die, then re-raise
        run.write_text(runs_lib.ERROR, traceback.format_exc())
        run.update_summary(status="failed", error=_one_line(err))
        err.failed_run = run.path  # a crash after the start, not bad input (see failed_run)
        raise


def failed_run(err: BaseException):
    """The run folder ``err`` marked failed when it escaped a started run, else None: callers
    tell a crash (keep the traceback) from bad input caught before the start (one line)."""
    return getattr(err, "failed_run", None)


def _one_line(err: BaseException) -> str:
    """'<Type>: <message>' on one line (the traceback is in error.txt)."""
    return " ".join(f"{type(err).__name__}: {err}".split())


def _finish(run, st: State, settings: TrainConfig, start: int) -> dict:
    """Final evaluation, pictures and the finished summary (rank 0; the others wait for it)."""
    if not dist.is_main():
        dist.barrier()
        return run.update_summary(status="finished", step=st.step)
    metrics, samples, data, labels = _evaluate(st.ema, settings)
    run.log({"kind": "eval", "step": st.step, **metrics})
    samples_picture(run.file("samples.png"), settings.dataset, data, samples, labels,
                    run.path.name)
    curves_png(run.file("curves.png"), run.records())
    rate = (st.step - start) / st.wall if st.wall > 0 else None
    # cpu_time: user + sys seconds of this process over all its threads, start-up and
    # evaluation included (this attempt only): the cost of a run on a shared machine
    summary = run.update_summary(status="finished", step=st.step, wall_time=round(st.wall, 2),
                                 cpu_time=round(time.process_time(), 1),
                                 steps_per_s=rate and round(rate, 3), final_metrics=metrics,
                                 error=None)
    dist.barrier()
    return summary


def _diverged(run, what: str) -> FloatingPointError:
    """The error of a run that stops on non-finite numbers, naming the checkpoint it keeps."""
    kept = run.load_checkpoint()["step"] if run.exists() else None
    keeps = ("no checkpoint was written before" if kept is None
             else f"the last good checkpoint (step {kept}) is kept")
    return FloatingPointError(f"{what}; {keeps}. Lower train.lr or set train.grad_clip")


def _save(run, st: State) -> None:
    """Write the checkpoint, unless its model, EMA or optimizer state has a non-finite value."""
    state = st.to_dict()
    bad = nonfinite(state)
    if bad:
        raise _diverged(run, f"non-finite {' / '.join(bad)} state at step {st.step}")
    run.save_checkpoint(state)


def _loop(run, bar, stop, st: State, settings: TrainConfig) -> None:
    """Steps st.step+1 .. settings.steps (or until a stop signal), logging and checkpointing.
    A step with a non-finite loss or leaving non-finite weights stops the run (_diverged)."""
    first = st.step + 1
    while st.step < settings.steps and not dist.any_rank(stop["stop"]):
        t0 = time.perf_counter()
        frac = st.step / settings.steps
        temps = tuple(t * settings.temperature_schedule(frac) for t in settings.temperatures)
        for group in st.opt.param_groups:
            group["lr"] = settings.lr * settings.lr_schedule(frac)
        stats = _update(st, _local_batch(st, settings), settings, temps)
        if not math.isfinite(stats["loss"]):
            raise _diverged(run, f"non-finite loss ({stats['loss']}) at step {st.step + 1}")
        if dist.any_rank(not all_finite(st.model.parameters())):
            raise _diverged(run, f"non-finite weights after step {st.step + 1}")
        _ema_update(st.ema, st.model, settings.ema_decay)
        st.step += 1
        st.wall += time.perf_counter() - t0
        if st.step == first:
            run.write_text("operative_config.gin", gin.operative_config_str())
        _record(run, bar, st, settings, stats, temps)


def _local_batch(st: State, settings: TrainConfig) -> Batch:
    """The step's global draw (zoo.run.batches), this rank's block of classes, on its device."""
    batch = draw(st, dataset=settings.dataset, positives=settings.positives,
                 negatives=settings.negatives, plan=settings.plan,
                 batch_size=settings.batch_size, data_batch_size=settings.data_batch_size)
    if dist.world() > 1:
        batch = batch.shard(dist.block(settings.plan.classes))
    return batch.to(dist.device())


def _base_key(key: str, rename: dict) -> str:
    """A stat's key with scheduled temperatures named by their base values: ``drift_rms/<t>``
    and, for an encoder's feature sets, ``<set>/drift_rms/<t>``."""
    if key in rename:
        return rename[key]
    head, sep, tail = key.rpartition("/drift_rms/")
    flat = "drift_rms/" + tail
    return f"{head}/{rename[flat]}" if sep and flat in rename else key


def _record(run, bar, st: State, settings: TrainConfig, stats: dict, temps) -> None:
    """Progress bar, metrics.jsonl, periodic evaluation and checkpoint after a step."""
    rename = {f"drift_rms/{t:g}": f"drift_rms/{b:g}"
              for t, b in zip(temps, settings.temperatures)}
    rec = {_base_key(k, rename): round(v, 6) for k, v in stats.items()}
    bar.update(st.step, rec["loss"], rec.get("drift_rms", float("nan")))
    if st.step % settings.log_every == 0 or st.step == settings.steps:
        run.log({"kind": "train", "step": st.step, **rec, "steps_per_s": bar.rate()})
    if st.step >= settings.steps:
        return
    if settings.eval_every and st.step % settings.eval_every == 0 and dist.is_main():
        metrics = _evaluate(st.ema, settings)[0]
        run.log({"kind": "eval", "step": st.step, **metrics})
        bar.evaluated(metrics)  # headline metrics stay in the bar until the next eval
    if settings.checkpoint_every and st.step % settings.checkpoint_every == 0:
        _save(run, st)
