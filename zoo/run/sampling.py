"""Using a trained generator: build it for a dataset, sample it, restore it from a run folder.

    x = f(z)  or  x = f(z, c, alpha = 1)      z from a seeded torch.Generator (no global RNG)

A class-conditional generator (``dataset.conditional``) gets ``num_classes`` and is sampled
marginally with balanced labels (i mod K). Shapes: samples [n, D] (an image generator's
[n, C, H, W] output is flattened to the dataset's rows, C*H*W = D).
"""
from __future__ import annotations

import gin
import torch

from zoo.config_hints import parameters
from zoo.generators import mlp
from zoo.run import folder as runs_lib
from zoo.run.defaults import EVAL_SAMPLES, EVAL_SEED_OFFSET, SEED


def make_generator(generator, dataset) -> torch.nn.Module:
    """``generator(out_dim=D)``, plus ``num_classes=K`` when the dataset is class-conditional
    and ``shape=(C, H, W)`` when the dataset has an image shape and the generator takes one
    (``conv``, ``dit``; they output images [n, C, H, W])."""
    kw = {"out_dim": dataset.dim}
    if getattr(dataset, "conditional", False):
        kw["num_classes"] = dataset.num_classes
    shape = getattr(dataset, "shape", None)
    if shape is not None and "shape" in parameters(generator):
        kw["shape"] = tuple(shape)
    return generator(**kw)


def eval_labels(model, n: int) -> torch.Tensor | None:
    """Balanced labels [n] (i mod K) for a class-conditional model, else None."""
    k = getattr(model, "num_classes", None)
    return torch.arange(n) % k if k else None


@torch.no_grad()
def sample(model, n: int, seed: int, chunk: int = 8192, alpha: float | None = None) -> torch.Tensor:
    """[n, D] samples from ``model`` with noise from a fixed ``seed`` (no global RNG).

    A class-conditional model is sampled marginally: labels ``eval_labels`` at guidance scale
    ``alpha`` (None: the generator's default, alpha = 1). ``alpha`` on an unconditional model
    is an error.
    """
    if alpha is not None and getattr(model, "num_classes", None) is None:
        raise ValueError("sample: alpha is the guidance scale of a class-conditional generator; "
                         "this generator is unconditional")
    g = torch.Generator().manual_seed(seed)
    labels, out = eval_labels(model, n), []
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        z = model.noise(m, g)  # a tensor, or (image noise, style indices) for a DiT with styles
        if labels is None:
            x = model(z)
        elif alpha is None:
            x = model(z, labels[i:i + m])
        else:
            x = model(z, labels[i:i + m], torch.full((m,), float(alpha)))
        out.append(x.reshape(m, -1))  # images [n, C, H, W] -> rows [n, C*H*W]
    return torch.cat(out)


def eval_settings() -> tuple[int, int]:
    """(``train.eval_samples``, evaluation noise seed ``train.seed`` + EVAL_SEED_OFFSET) of the
    config gin last parsed (``restore`` parses a run's), with the trainer's defaults
    (``zoo.run.defaults``) for what it leaves unbound."""
    bound = gin.get_bindings("train")
    return bound.get("eval_samples", EVAL_SAMPLES), bound.get("seed", SEED) + EVAL_SEED_OFFSET


def restore(workdir, use_ema: bool = True):
    """(model with EMA weights, dataset, run) of a run folder, rebuilt from its config.gin alone.

    The saved config is self-contained (``zoo.config``: includes inlined), so no repository gin
    file is read and editing, moving or deleting the files a run came from changes nothing here.
    A config.gin from before that still includes repository files is rebuilt from them as they
    are now, with a ``FrozenConfigWarning``.
    """
    from zoo.config import parse_frozen  # late: zoo.config imports zoo

    run = runs_lib.open_run(workdir)
    parse_frozen(run.file("config.gin").read_text(), where=str(run.file("config.gin")))
    bound = gin.get_bindings("train")
    dataset = bound["dataset"]
    model = make_generator(bound.get("generator", mlp), dataset)
    ckpt = run.load_checkpoint()
    model.load_state_dict(ckpt["ema" if use_ema else "model"])
    return model.eval().requires_grad_(False), dataset, run
