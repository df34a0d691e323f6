"""zoo.run.evaluation: image runs get evaluator metrics and an image samples.png; guidance scales in
sampling, tools/eval.py --alpha and tools/alpha_table.py."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.run.evaluation import assess, evaluator_for, samples_picture
from zoo.registry import lookup
from zoo.run.sampling import make_generator, sample

from tests.test_conditional import COND
from tests.test_images_train import DIGITS
from tests.test_train import tool


def _digits_model():
    ds = zoo.build("dataset", "digits")
    torch.manual_seed(0)
    return make_generator(lookup("generator", "conv"), ds), ds


def test_shapes_of_each_size_get_the_evaluator_of_that_size():
    """16x16 shapes score with shapes16.pt (the 32x32 evaluator reads real 16x16 shapes at
    0.36 accuracy, results/images.md), 32x32 with shapes.pt; a size without one gets none."""
    for size, name in ((32, "shapes"), (16, "shapes16")):
        ds = zoo.build("dataset", "shapes", size=size)
        assert ds.evaluator == name
        model = evaluator_for(ds)
        assert model is not None and tuple(model.shape) == (3, size, size)
    assert zoo.build("dataset", "shapes", size=8).evaluator == "shapes8"
    assert zoo.build("dataset", "shapes", size=64).evaluator == "shapes"  # area-resized to 32


def test_train_evaluator_size_is_a_shapes_option(capsys):
    from zoo.cli import train_evaluator
    assert train_evaluator.main(["--dataset", "digits", "--size", "16", "--out", "/tmp/x.pt"]) != 0
    assert "--size is a shapes option" in capsys.readouterr().err


def test_digits_get_the_committed_evaluator_and_image_metrics():
    model, ds = _digits_model()
    assert evaluator_for(ds) is not None
    assert evaluator_for(zoo.build("dataset", "moons")) is None
    metrics, samples, _, labels = assess(model, ds, 300, seed=0)
    assert {"fd", "kid", "feature_precision", "feature_recall", "class_accuracy",
            "class_coverage", "energy_distance"} <= set(metrics)
    assert samples.shape == (300, 64) and torch.equal(labels, torch.arange(300) % 10)


def test_real_digits_score_near_perfect_and_an_untrained_generator_does_not():
    """The metric pipeline separates data from noise: held-out train digits vs test digits."""
    model, ds = _digits_model()
    from zoo.metrics.image import evaluate_images

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(359) % 10
    real = evaluate_images(ds.sample_class(labels, g), ds.held_out(359), evaluator_for(ds), labels)
    fake = assess(model, ds, 359, seed=0)[0]
    assert real["class_accuracy"] > 0.95 and real["feature_precision"] > 0.7
    assert fake["fd"] > 10 * real["fd"] and fake["class_accuracy"] < 0.5


def test_repeated_held_out_rows_do_not_zero_the_precision():
    """digits.held_out(n > 359) repeats rows; k-NN radii must come from distinct rows."""
    _, ds = _digits_model()
    labels = torch.arange(1000) % 10

    class Copy(torch.nn.Module):  # a "generator" that returns real training digits
        num_classes = 10

        def noise(self, n, g):
            return torch.zeros(n, 1)

        def forward(self, z, labels, alpha=None):
            return ds.sample_class(labels, torch.Generator().manual_seed(1))

    metrics = assess(Copy(), ds, 1000, seed=0)[0]
    assert metrics["feature_precision"] > 0.7 and metrics["class_accuracy"] > 0.95, metrics
    assert len(labels) == 1000


def test_image_samples_png_is_a_grid_of_data_and_samples(tmp_path):
    model, ds = _digits_model()
    metrics, samples, data, labels = assess(model, ds, 200, seed=0)
    samples_picture(tmp_path / "s.png", ds, data, samples, labels, "t")
    img = np.asarray(Image.open(tmp_path / "s.png"))
    assert img.shape[0] > 200 and img.shape[1] > 2 * img.shape[0] * 0.8


def test_sample_alpha_changes_a_conditional_generator_and_is_refused_unconditionally():
    model, _ = _digits_model()
    with torch.no_grad():  # FiLM layers start at zero (alpha has no effect yet): perturb them
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    a, b = sample(model, 20, 0), sample(model, 20, 0, alpha=3.0)
    assert torch.equal(a, sample(model, 20, 0, alpha=1.0)) and not torch.equal(a, b)
    plain = make_generator(lookup("generator", "mlp"), zoo.build("dataset", "moons"))
    with pytest.raises(ValueError, match="unconditional"):
        sample(plain, 5, 0, alpha=2.0)


@pytest.mark.slow
def test_eval_alpha_and_alpha_table(tmp_path):
    """A cfg run with the alpha sampler is evaluated at each alpha in its range; a self run at 1."""
    base = [*COND, "--gin_param", "train.steps = 20", "--gin_param", "train.eval_every = 0"]
    tool("train.py", *base, "--gin_param", "train.negatives = @cfg()", "--gin_param",
         "cfg.alpha_max = 2.0", "--workdir", str(tmp_path / "runs" / "cfg"))
    tool("train.py", *base, "--workdir", str(tmp_path / "runs" / "self"))
    r = tool("eval.py", "--workdir", str(tmp_path / "runs" / "cfg"), "--alpha", "1,2",
             "--json", str(tmp_path / "a.json"))
    rows = json.loads((tmp_path / "a.json").read_text())
    assert set(rows) == {"1", "2"} and rows["1"] != rows["2"], r.stdout
    bad = tool("eval.py", "--workdir", str(tmp_path / "runs" / "self"), "--alpha", "0", check=False)
    assert bad.returncode == 2 and "must be > 0" in bad.stderr
    tool("alpha_table.py", str(tmp_path / "runs"), "--alpha", "1,1.5,3", "--markdown",
         str(tmp_path / "t.md"))
    table = (tmp_path / "t.md").read_text()
    assert "| cfg alpha 1-2 | 1.5 | 1 |" in table and "| self | 1 | 1 |" in table
    assert "| cfg alpha 1-2 | 3 |" not in table  # outside the trained range
    summary = json.loads((tmp_path / "runs" / "cfg" / "summary.json").read_text())
    assert set(summary["alpha_metrics"]) == {"1", "1.5"}


@pytest.mark.slow
def test_digits_run_reports_evaluator_metrics(tmp_path):
    tool("train.py", *DIGITS, "--workdir", str(tmp_path / "r"))
    final = json.loads((tmp_path / "r" / "summary.json").read_text())["final_metrics"]
    assert {"fd", "class_accuracy", "class_coverage"} <= set(final)


def test_eval_settings_use_the_trainer_defaults_without_importing_the_trainer():
    """zoo.run.defaults holds the trainer's seed / eval_samples defaults, so sampling reads them
    without importing zoo.run.train (train -> evaluation -> sampling -> train was a circle)."""
    import inspect

    import gin

    from zoo.run import defaults, sampling
    from zoo.run.train import train

    params = inspect.signature(train).parameters
    assert params["seed"].default == defaults.SEED and params["eval_samples"].default == defaults.EVAL_SAMPLES
    assert "zoo.run.train" not in inspect.getsource(sampling)
    gin.clear_config()
    assert sampling.eval_settings() == (defaults.EVAL_SAMPLES, defaults.SEED + defaults.EVAL_SEED_OFFSET)
    gin.parse_config("train.seed = 3\ntrain.eval_samples = 100")
    assert sampling.eval_settings() == (100, 3 + defaults.EVAL_SEED_OFFSET)
    gin.clear_config()


def test_images_of_another_side_are_scored_at_the_evaluators_side():
    """A shapes dataset at 64 x 64 (a decoded miniature-ImageNet latent, say) is scored by the
    32 x 32 shapes evaluator after an area resize: real images classify as well as at 32."""
    from zoo.run.evaluation import resized

    big = zoo.build("dataset", "shapes", size=64)
    evaluator = evaluator_for(big)
    assert evaluator is not None and evaluator.shape == (3, 32, 32)
    labels = torch.arange(120) % 6
    x = big.sample_class(labels, torch.Generator().manual_seed(0))
    small = resized(x, big.shape, 32)
    assert small.shape == (120, 3 * 32 * 32) and torch.equal(resized(small, (3, 32, 32), 32), small)
    with torch.no_grad():
        pred = evaluator.head(evaluator.features(small.view(-1, 3, 32, 32))).argmax(1)
    assert (pred == labels).float().mean() > 0.9
