"""Class-conditional toys end to end: per-class data, the conditional generator, class_accuracy,
training with @cfg() / @other_class(), and SIGKILL + resume with @cfg()."""
import json

import pytest
import torch
from torch import nn

import zoo
from zoo.data import check_dataset
from zoo.metrics.evaluate import METRIC_GOAL, evaluate
from zoo.metrics.modes import class_accuracy
from zoo.run.sampling import eval_labels, make_generator, sample

from tests.test_train import DEBUG, kill_and_resume, tool

COND = [*DEBUG, "--gin_param", "grid_gaussians.conditional = True",
        "--gin_param", "train.classes_per_step = 5", "--gin_param", "train.batch_size = 80",
        "--gin_param", "train.eval_samples = 500"]


@pytest.mark.parametrize("name,k", [("grid_gaussians", 25), ("eight_gaussians", 8)])
def test_conditional_mixture_samples_each_class_at_its_mode(name, k):
    ds = zoo.build("dataset", name, conditional=True)
    assert ds.conditional and ds.num_classes == k
    check_dataset(ds)
    labels = torch.arange(4000) % k
    x = ds.sample_class(labels, torch.Generator().manual_seed(0))
    dist = torch.cdist(x, ds.modes)
    assert (dist.argmin(1) == labels).all()
    assert ((x - ds.modes[labels]).norm(dim=1) < 5 * ds.mode_std).all()
    assert torch.equal(ds.held_out_class(labels), ds.held_out_class(labels))
    assert class_accuracy(x, labels, ds.modes, ds.mode_std) > 0.98
    assert class_accuracy(x, (labels + 1) % k, ds.modes, ds.mode_std) == 0.0
    with pytest.raises(ValueError, match="labels"):
        ds.sample_class(torch.tensor([k]), torch.Generator())


@pytest.mark.parametrize("name", ["grid_gaussians", "eight_gaussians"])
def test_unconditional_mixture_is_unchanged(name):
    plain, cond = zoo.build("dataset", name), zoo.build("dataset", name, conditional=True)
    assert not plain.conditional and plain.num_classes is None
    a = plain.sample(500, torch.Generator().manual_seed(3))
    assert torch.equal(a, cond.sample(500, torch.Generator().manual_seed(3)))
    g = torch.Generator().manual_seed(3)  # the draw sequence of the original sampler
    k = torch.randint(len(plain.modes), (500,), generator=g)
    assert torch.equal(a, plain.modes[k] + plain.mode_std * torch.randn(500, 2, generator=g))
    with pytest.raises(ValueError, match="unconditional"):
        plain.sample_class(torch.zeros(3, dtype=torch.long), torch.Generator())


def test_unconditional_generator_init_is_the_plain_mlp():
    torch.manual_seed(7)
    ref = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    for num_classes in (None, 0):
        torch.manual_seed(7)
        m = zoo.build("generator", "mlp", out_dim=2, noise_dim=8, width=32, depth=2,
                      activation="relu", num_classes=num_classes)
        assert m.num_classes is None
        assert list(m.state_dict()) == [f"net.{k}" for k in ref.state_dict()]
        for key, value in ref.state_dict().items():
            assert torch.equal(m.state_dict()[f"net.{key}"], value), key
    with pytest.raises(ValueError, match="unconditional"):
        m(torch.zeros(3, 8), labels=torch.zeros(3, dtype=torch.long))


def test_conditional_generator_uses_class_and_alpha():
    torch.manual_seed(0)
    m = zoo.build("generator", "mlp", out_dim=2, num_classes=5)
    z = m.noise(16, torch.Generator().manual_seed(0))
    c0, c1 = torch.zeros(16, dtype=torch.long), torch.ones(16, dtype=torch.long)
    x = m(z, c0)
    assert x.shape == (16, 2)
    assert not torch.allclose(x, m(z, c1))
    assert torch.equal(x, m(z, c0, torch.ones(16)))                 # alpha = 1 is the default
    assert not torch.allclose(x, m(z, c0, torch.full((16,), 3.0)))
    with pytest.raises(ValueError, match="needs labels"):
        m(z)
    ds = zoo.build("dataset", "grid_gaussians", conditional=True)
    assert make_generator(zoo.registry.lookup("generator", "mlp"), ds).num_classes == 25
    labels = eval_labels(m, 12)
    assert labels.tolist() == [i % 5 for i in range(12)]
    z = m.noise(12, torch.Generator().manual_seed(1))
    assert torch.equal(sample(m, 12, seed=1), m(z, labels))


def test_evaluate_adds_class_accuracy_only_with_labels():
    ds = zoo.build("dataset", "eight_gaussians", conditional=True)
    labels = torch.arange(400) % 8
    x = ds.sample_class(labels, torch.Generator().manual_seed(1))
    y = ds.held_out(400)
    out = evaluate(x, y, modes=ds.modes, mode_std=ds.mode_std, labels=labels)
    image_only = {"fd", "kid", "feature_precision", "feature_recall", "class_coverage",
                  "classes_covered", "fid", "png_fd"}  # zoo.metrics.image / fid keys
    assert set(out) == set(METRIC_GOAL) - image_only and out["class_accuracy"] > 0.98
    assert "class_accuracy" not in evaluate(x, y, modes=ds.modes, mode_std=ds.mode_std)


def _final(wd):
    records = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["kind"] == "eval"]
    return evals[0], evals[-1], [r for r in records if r["kind"] == "train"]


@pytest.mark.parametrize("name", ["cfg", "other_class"])
def test_conditional_run_learns_the_classes(tmp_path, name):
    wd = tmp_path / name
    tool("train.py", *COND, "--workdir", str(wd), "--gin_param", f"train.negatives = @{name}()",
         "--gin_param", "train.steps = 300", "--gin_param", "train.eval_every = 25")
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["negatives"] == name
    first, last, train = _final(wd)
    assert first["step"] == 25 and first["class_accuracy"] < 0.05
    assert last["class_accuracy"] > max(0.3, 5 * first["class_accuracy"])
    assert last["class_accuracy"] > 0.8 * last["high_quality"]    # on its own class's mode
    assert ("alpha" in train[0]) == (name == "cfg")
    if name == "other_class":  # re-evaluation keeps the class-conditional metric
        before = summary["final_metrics"]["class_accuracy"]
        tool("eval.py", "--workdir", str(wd))
        after = json.loads((wd / "summary.json").read_text())["final_metrics"]
        assert after["class_accuracy"] == pytest.approx(before)
    if name == "cfg":
        alphas = [r["alpha"] for r in train]
        assert all(1.0 <= a <= 4.0 for a in alphas) and len(set(alphas)) > 1


def test_cfg_sigkill_and_resume_is_bit_identical(tmp_path):
    args = [*COND, "--gin_param", "train.negatives = @cfg()", "--gin_param", "train.steps = 30",
            "--gin_param", "train.checkpoint_every = 7", "--gin_param", "train.eval_every = 0"]
    a, _, _ = kill_and_resume(args, tmp_path, 30)
    assert "class_embed.weight" in a["model"]
    runs = [[(r["loss"], r["alpha"]) for r in _final(tmp_path / d)[2]] for d in "ab"]
    assert runs[0] == runs[1]
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["final_metrics"] == \
        json.loads((tmp_path / "a" / "summary.json").read_text())["final_metrics"]


@pytest.mark.parametrize("param,needle", [
    ("train.classes_per_step = 26", "classes_per_step must be in 1..25"),
    ("train.batch_size = 8", "per class"),
    ("train.uncond_per_class = 0", "uncond_per_class"),
])
def test_bad_conditional_settings_fail_before_training(tmp_path, param, needle):
    r = tool("train.py", *COND, "--workdir", str(tmp_path / "r"), "--gin_param",
             "train.negatives = @cfg()", "--gin_param", param, check=False)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_cfg_on_unconditional_data_still_fails_before_training(tmp_path):
    r = tool("train.py", *COND[:len(DEBUG)], "--workdir", str(tmp_path / "r"),
             "--gin_param", "train.negatives = @cfg()", "--gin_param", "train.dataset = @moons()",
             check=False)
    assert r.returncode == 2 and "class-conditional" in r.stderr and "moons" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "r" / "checkpoint.pt").exists()


# --- alpha travels in the step's Batch -------------------------------------------------------

def conditional_settings(**over):
    """A TrainConfig for class-conditional grid_gaussians with @cfg(), train's defaults else."""
    import inspect

    from zoo.run.settings import resolve
    from zoo.run.train import train

    params = {k: p.default for k, p in inspect.signature(train).parameters.items()
              if k not in ("workdir", "config_text", "progress")}
    params.update(dataset=zoo.build("dataset", "grid_gaussians", conditional=True),
                  negatives=zoo.build("negatives", "cfg"), classes_per_step=4, batch_size=32,
                  data_batch_size=32, **over)
    return resolve(**params)


def step_batch(settings):
    from zoo.run import train as train_module
    from zoo.run.batches import draw

    st = train_module._build(settings)
    return st, draw(st, dataset=settings.dataset, positives=settings.positives,
                    negatives=settings.negatives, plan=settings.plan,
                    batch_size=settings.batch_size, data_batch_size=settings.data_batch_size)


def test_sharded_batches_carry_the_one_process_alpha_per_group():
    st, batch = step_batch(conditional_settings())
    assert batch.alpha_per_group.shape == (4,) and batch.labels.shape == (32,)
    parts = [batch.shard(slice(0, 2)), batch.shard(slice(2, 4))]      # 2 ranks' blocks
    assert torch.equal(torch.cat([p.alpha_per_group for p in parts]), batch.alpha_per_group)
    assert torch.equal(torch.cat([p.labels for p in parts]), batch.labels)
    whole = batch.generate(st.model)
    torch.testing.assert_close(torch.cat([p.generate(st.model) for p in parts]), whole,
                               rtol=1e-6, atol=1e-6)
    z = batch.z[:8]                                                   # group 0: f(z, c, alpha_0)
    expect = st.model(z, batch.labels[:8], batch.alpha_per_group[0].expand(8))
    # equal to float32 rounding: a batch of 8 and one of 32 may take different BLAS kernels
    # (CI saw 2e-8), while another alpha moves the samples far beyond that tolerance
    torch.testing.assert_close(whole[0], expect, rtol=1e-6, atol=1e-6)
    other = st.model(z, batch.labels[:8], (batch.alpha_per_group[0] + 1.0).expand(8))
    assert (other - whole[0]).abs().max() > 1e-4


def test_a_negatives_strategy_keeps_no_alpha_after_a_step():
    from zoo.run import train as train_module

    settings = conditional_settings()
    st, batch = step_batch(settings)
    before = dict(vars(settings.negatives))
    stats = train_module._update(st, batch, settings, settings.temperatures)
    assert stats["alpha"] == pytest.approx(float(batch.alpha_per_group.mean()))
    assert not hasattr(settings.negatives, "alpha") and vars(settings.negatives) == before


def test_cfg_steps_match_the_numbers_recorded_before_alpha_moved_into_the_batch(tmp_path):
    """Losses and alphas of 3 CFG steps, recorded (rounded as logged) on the code where the
    strategy object carried alpha; the explicit Batch.alpha_per_group changes no number."""
    tool("train.py", *COND, "--workdir", str(tmp_path / "r"), "--gin_param",
         "train.negatives = @cfg()", "--gin_param", "train.steps = 3", "--gin_param",
         "train.log_every = 1", "--gin_param", "train.eval_every = 0")
    train = _final_train(tmp_path / "r")
    assert [r["loss"] for r in train] == pytest.approx([4.855514, 4.363938, 4.662714],
                                                       rel=1e-6, abs=0)
    assert [r["alpha"] for r in train] == pytest.approx([2.884958, 2.8482, 2.376643],
                                                        rel=1e-6, abs=0)


def _final_train(wd):
    records = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r["kind"] == "train"]
