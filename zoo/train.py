"""The training loop, and only the loop: the one gin-configurable root of drift-zoo.

Each step (Deng et al. 2026, Alg. 1):  z ~ N(0,I);  x = f(z);  y+ ~ p;
    loss = mean_b drift_loss(x, y+)        (zoo.drift: mean ||x' - stopgrad(x' + V)||^2)
then an optimizer step and an EMA update of the weights. Every choice is a registered component
bound in gin (``train.dataset = @checkerboard()``, ``train.field = @meanshift``, ...).

Runs are deterministic on CPU for a seed; the checkpoint carries the model, EMA, optimizer and
both RNG streams (noise, data), so a resumed run ends bit-identical to an uninterrupted one.
SIGINT/SIGTERM finish the current step, checkpoint and exit cleanly.
"""
from __future__ import annotations

import copy
import math
import signal
import time
from contextlib import contextmanager

import gin
import torch

from zoo import runs as runs_lib
from zoo.data import check_dataset
from zoo.drift import check_temperatures, drift_loss
from zoo.fields import meanshift
from zoo.generators import mlp
from zoo.kernels import laplace
from zoo.metrics import evaluate
from zoo.plots import curves_png, samples_png
from zoo.registry import name_of
from zoo.schedules import constant
from zoo.progress import StepProgress


def _validate(batch_size, data_batch_size, steps, ema_decay, temperatures):
    if batch_size < 2:
        raise ValueError(f"train.batch_size must be >= 2 (the field needs other generated "
                         f"samples as negatives), got {batch_size}")
    if data_batch_size is not None and data_batch_size < 1:
        raise ValueError(f"train.data_batch_size must be >= 1, got {data_batch_size}")
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


@torch.no_grad()
def sample(model, n: int, seed: int, chunk: int = 8192) -> torch.Tensor:
    """[n, D] samples from ``model`` with noise from a fixed ``seed`` (no global RNG)."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([model(model.noise(min(chunk, n - i), g)) for i in range(0, n, chunk)])


def _evaluate(model, dataset, n, seed):
    samples = sample(model, n, seed)
    data = dataset.held_out(n)
    return evaluate(samples, data, modes=dataset.modes, mode_std=dataset.mode_std), samples, data


def _state(step, model, ema, opt, gens, wall):
    return {"step": step, "model": model.state_dict(), "ema": ema.state_dict(),
            "opt": opt.state_dict(), "rng_noise": gens[0].get_state(),
            "rng_data": gens[1].get_state(), "wall_time": wall}


@gin.configurable(denylist=["workdir", "config_text", "progress"])
def train(workdir=None, config_text: str = "", progress: bool = True, *,
          dataset=gin.REQUIRED, generator=mlp, field=meanshift, kernel=laplace,
          temperatures=(0.02, 0.05, 0.2), steps: int = 2000, seed: int = 0,
          batch_size: int = 2048, data_batch_size: int | None = None, lr: float = 1e-3,
          betas=(0.9, 0.999), weight_decay: float = 0.0, grad_clip: float | None = None,
          ema_decay: float = 0.999, log_every: int = 10, eval_every: int = 500,
          eval_samples: int = 4096, checkpoint_every: int = 500, temperature_schedule=constant(),
          lr_schedule=constant()) -> dict:
    """Train a drifting model; returns the run's summary dict. See README for every knob."""
    _validate(batch_size, data_batch_size, steps, ema_decay, temperatures)
    check_dataset(dataset)
    torch.manual_seed(seed)
    model = generator(out_dim=dataset.dim)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=tuple(betas), weight_decay=weight_decay)
    gens = (torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1))
    names = dict(generator=name_of(model), field=name_of(field), kernel=name_of(kernel),
                 negatives="self")
    if workdir is None:
        workdir = runs_lib.RUNS / runs_lib.run_name(config_text, seed=seed, **names)
    run = runs_lib.Run(workdir).create()
    start, wall = 0, 0.0
    if run.exists():
        ckpt = run.load_checkpoint()
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["opt"])
        gens[0].set_state(ckpt["rng_noise"])
        gens[1].set_state(ckpt["rng_data"])
        start, wall = ckpt["step"], ckpt["wall_time"]
        run.truncate_records(start)
    else:
        run.write_text("config.gin", config_text)
    summary = run.update_summary(status="running", workdir=str(run.path), steps=steps,
                                 seed=seed, dataset=dataset.name, **names,
                                 git_commit=runs_lib.git_commit(), resumed_from=start or None)
    if start >= steps and summary.get("final_metrics"):
        return run.update_summary(status="finished")
    try:
        with _stop_on_signal() as stop, StepProgress(steps, start, enabled=progress) as bar:
            step, wall = _loop(run, bar, stop, start, steps, model, ema, opt, gens, wall, dataset,
                               field, kernel, temperatures, batch_size,
                               data_batch_size or batch_size, grad_clip, ema_decay, log_every,
                               eval_every, eval_samples, checkpoint_every, seed,
                               (temperature_schedule, lr_schedule, lr))
    except BaseException as err:  # noqa: BLE001 -- record every way a run can die, then re-raise
        run.update_summary(status="failed", error=f"{type(err).__name__}: {err}")
        raise
    if step < steps:
        run.save_checkpoint(_state(step, model, ema, opt, gens, wall))
        return run.update_summary(status="interrupted", step=step, wall_time=wall)
    metrics, samples, data = _evaluate(ema, dataset, eval_samples, seed + 10**5)
    run.log({"kind": "eval", "step": steps, **metrics})
    run.save_checkpoint(_state(steps, model, ema, opt, gens, wall))
    samples_png(run.file("samples.png"), data, samples, title=run.path.name)
    curves_png(run.file("curves.png"), run.records())
    trained = steps - start
    return run.update_summary(status="finished", step=steps, wall_time=round(wall, 2),
                              steps_per_s=round(trained / wall, 3) if wall > 0 else None,
                              final_metrics=metrics, error=None)


def _loop(run, bar, stop, start, steps, model, ema, opt, gens, wall, dataset, field, kernel,
          temperatures, batch_size, data_batch_size, grad_clip, ema_decay, log_every,
          eval_every, eval_samples, checkpoint_every, seed, schedules):
    """Steps start+1..steps; returns (last completed step, accumulated wall time)."""
    step = start
    temp_schedule, lr_schedule, lr = schedules
    while step < steps and not stop["stop"]:
        t0 = time.perf_counter()
        frac = step / steps
        temps = tuple(t * temp_schedule(frac) for t in temperatures)
        for group in opt.param_groups:
            group["lr"] = lr * lr_schedule(frac)
        x = model(model.noise(batch_size, gens[0]))
        pos = dataset.sample(data_batch_size, gens[1])
        loss, stats = drift_loss(x[None], pos[None], field=field, kernel=kernel,
                                 temperatures=temps)
        loss = loss.mean()
        if not math.isfinite(loss.item()):
            kept = run.load_checkpoint()["step"] if run.exists() else None
            raise FloatingPointError(
                f"non-finite loss ({loss.item()}) at step {step + 1}; the last good checkpoint "
                f"(step {kept}) is kept. Lower train.lr or set train.grad_clip")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        _ema_update(ema, model, ema_decay)
        step += 1
        if step == 1 or step == start + 1:
            run.write_text("operative_config.gin", gin.operative_config_str())
        wall += time.perf_counter() - t0
        rename = {f"drift_rms/{t:g}": f"drift_rms/{b:g}" for t, b in zip(temps, temperatures)}
        rec = {rename.get(k, k): round(float(v), 6) for k, v in stats.items()}
        bar.update(step, rec["loss"], rec["drift_rms"])
        if step % log_every == 0 or step == steps:
            run.log({"kind": "train", "step": step, **rec, "steps_per_s": bar.rate()})
        if eval_every and step % eval_every == 0 and step < steps:
            run.log({"kind": "eval", "step": step,
                     **_evaluate(ema, dataset, eval_samples, seed + 10**5)[0]})
        if checkpoint_every and step % checkpoint_every == 0 and step < steps:
            run.save_checkpoint(_state(step, model, ema, opt, gens, wall))
    return step, wall


def restore(workdir, use_ema: bool = True):
    """(model with EMA weights, dataset, run) of a run folder, rebuilt from its config.gin."""
    from zoo.config import ROOT  # late: zoo.config imports zoo

    run = runs_lib.open_run(workdir)
    gin.clear_config()
    gin.add_config_file_search_path(str(ROOT))
    gin.parse_config(run.file("config.gin").read_text())
    bound = gin.get_bindings("train")
    dataset = bound["dataset"]
    model = bound.get("generator", mlp)(out_dim=dataset.dim)
    ckpt = run.load_checkpoint()
    model.load_state_dict(ckpt["ema" if use_ema else "model"])
    return model.eval().requires_grad_(False), dataset, run
