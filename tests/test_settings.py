"""The trainer's typed config (zoo.run.settings.TrainConfig): frozen, complete, and helpers
that take only what they use."""
import dataclasses
import inspect

import pytest

import zoo
from zoo.registry import lookup
from zoo.run import batches, feature_step
from zoo.run.settings import TrainConfig, resolve
from zoo.run.train import train

CALL_ONLY = ("workdir", "config_text", "progress")


def defaults(**over):
    params = {k: p.default for k, p in inspect.signature(train).parameters.items()
              if k not in CALL_ONLY}
    return {**params, "dataset": zoo.build("dataset", "grid_gaussians"), **over}


def test_train_config_is_frozen_and_resolved():
    settings = resolve(**defaults(batch_size=64, negatives=lookup("negatives", "queue")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.lr = 1.0
    assert settings.data_batch_size == 64 and settings.plan is None and not settings.conditional
    assert type(settings.negatives).__name__ == "queue"       # a gin class reference is built
    assert isinstance(settings.temperatures, tuple) and isinstance(settings.betas, tuple)


def test_every_train_parameter_is_a_field_and_gin_defaults_are_unchanged():
    params = inspect.signature(train).parameters
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    assert fields == [k for k in params if k not in CALL_ONLY] + ["plan"]
    assert {k: params[k].default for k in ("steps", "seed", "batch_size", "lr", "betas",
                                           "ema_decay", "log_every", "eval_every",
                                           "eval_samples", "checkpoint_every", "inner_steps",
                                           "temperatures")} == dict(
        steps=2000, seed=0, batch_size=2048, lr=1e-3, betas=(0.9, 0.999), ema_decay=0.999,
        log_every=10, eval_every=500, eval_samples=4096, checkpoint_every=500, inner_steps=1,
        temperatures=(0.02, 0.05, 0.2))


@pytest.mark.parametrize("fn,wants", [
    (batches.draw, {"st", "dataset", "positives", "negatives", "plan", "batch_size",
                    "data_batch_size"}),
    (feature_step.loss, {"x", "pos", "neg", "neg_w", "encoder", "shape", "field", "kernel",
                         "temperatures"}),
    (batches.class_plan, {"dataset", "classes_per_step", "batch_size", "data_batch_size",
                          "uncond_per_class"}),
])
def test_helpers_take_only_what_they_use(fn, wants):
    params = inspect.signature(fn).parameters
    assert set(params) == wants
    assert not {"cfg", "settings", "config"} & set(params)


@pytest.mark.parametrize("over,needle", [
    (dict(batch_size=1), "train.batch_size must be >= 2"),
    (dict(ema_decay=1.0), "train.ema_decay must be in [0, 1)"),
    (dict(negatives=lookup("negatives", "cfg")), "needs a class-conditional dataset"),
])
def test_resolve_checks_before_building(over, needle):
    with pytest.raises(ValueError) as err:
        resolve(**defaults(**over))
    assert needle in str(err.value)
