"""zoo.config: a run is its resolved config (includes inlined), rebuilt from its folder alone;
gin errors name the fix (zoo.config_hints)."""
import logging
import shutil
import warnings
from pathlib import Path

import gin
import pytest
import torch

import zoo.config
from zoo.config import ConfigError, FrozenConfigWarning, config_text, parse, parse_frozen
from zoo.run import folder as runs_lib
from zoo.run.sampling import restore, sample
from zoo.run.train import train

ROOT = Path(__file__).resolve().parent.parent
TINY = ["train.steps = 4", "train.eval_every = 0", "train.checkpoint_every = 2", "train.eval_samples = 64"]


def _story(tmp_path, steps=4, lr=1e-3):
    """a.gin includes b.gin (beside it), which includes the repository's debug recipe."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "a.gin").write_text("import zoo\ninclude 'b.gin'\ntrain.log_every = 5\n")
    (tmp_path / "b.gin").write_text(f"include 'gin/debug.gin'\ntrain.steps = {steps}\n"
                                    f"train.lr = {lr}\ntrain.eval_every = 0\ntrain.eval_samples = 64\n")
    return [str(tmp_path / "a.gin")]


def _bindings(text: str) -> dict:
    gin.clear_config()
    gin.parse_config(text)
    return {k: gin.get_bindings("train")[k] for k in ("steps", "lr", "log_every", "batch_size")}


def test_config_text_inlines_includes_and_parses_alone(tmp_path):
    text = parse(_story(tmp_path), ["train.batch_size = 32"])
    assert "\ninclude" not in text and "# include 'b.gin'  (inlined below)" in text
    assert "# ---- gin/experiments/toy.gin" in text and "train.lr = 0.001" in text
    assert text.index("train.steps = 4\n") > text.index("train.steps = 20\n")  # debug.gin first
    shutil.rmtree(tmp_path)  # the text alone is the config: no file is read
    assert _bindings(text) == {"steps": 4, "lr": 1e-3, "log_every": 5, "batch_size": 32}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_frozen(text)
    assert gin.get_bindings("train")["steps"] == 4


def test_editing_an_included_file_is_another_run(tmp_path):
    files, wd = _story(tmp_path / "cfg"), tmp_path / "run"
    first = parse(files, [])
    summary = train(workdir=str(wd), config_text=first, progress=False)
    assert summary["status"] == "finished" and summary["step"] == 4
    _story(tmp_path / "cfg", steps=6, lr=0.01)  # b.gin edited; a.gin untouched
    second = parse(files, [])
    names = dict(generator="mlp", field="split", kernel="laplace", negatives="self", seed=0)
    assert runs_lib.run_name(first, **names) != runs_lib.run_name(second, **names)
    with pytest.raises(ValueError, match="different config"):
        train(workdir=str(wd), config_text=second, progress=False)
    noted = first.replace("\n", "  # a comment\n", 1)          # the same statements
    assert noted != first and runs_lib.run_name(noted, **names) == runs_lib.run_name(first, **names)


def _copied_recipe(tmp_path) -> list[str]:
    """gin/debug.gin -> toy.gin -> base.gin copied to tmp_path, each including the next beside it."""
    tmp_path.mkdir()
    for name, src in (("debug.gin", "gin/debug.gin"), ("toy.gin", "gin/experiments/toy.gin"),
                      ("base.gin", "gin/base.gin")):
        text = (ROOT / src).read_text()
        text = text.replace("include 'gin/experiments/toy.gin'", "include 'toy.gin'")
        (tmp_path / name).write_text(text.replace("include 'gin/base.gin'", "include 'base.gin'"))
    return [str(tmp_path / "debug.gin")]


def test_restore_reads_the_run_folder_alone(tmp_path, monkeypatch):
    wd = tmp_path / "run"
    train(workdir=str(wd), config_text=parse(_copied_recipe(tmp_path / "gin_copy"), TINY), progress=False)
    model, dataset, _ = restore(wd)
    before = sample(model, 64, seed=3)
    shutil.rmtree(tmp_path / "gin_copy")  # the files the run came from are gone
    monkeypatch.setattr(zoo.config, "resolve", lambda *a, **k: pytest.fail("read a gin file"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model, again, _ = restore(wd)
    assert torch.equal(sample(model, 64, seed=3), before) and again.name == dataset.name


def test_an_old_config_gin_with_includes_is_rebuilt_with_a_warning(tmp_path):
    wd = tmp_path / "run"
    train(workdir=str(wd), config_text=parse(["gin/debug.gin"], TINY), progress=False)
    model, _, _ = restore(wd)
    old = "# ---- gin/debug.gin\n" + (ROOT / "gin/debug.gin").read_text() + "\n".join(TINY) + "\n"
    (wd / "config.gin").write_text(old)  # how config.gin looked before configs were resolved
    with pytest.warns(FrozenConfigWarning, match="includes repository gin files"):
        old_model, _, _ = restore(wd)
    assert torch.equal(sample(old_model, 32, seed=1), sample(model, 32, seed=1))


def test_include_cycles_and_missing_includes_are_named(tmp_path):
    (tmp_path / "a.gin").write_text("include 'b.gin'\n")
    (tmp_path / "b.gin").write_text("include 'a.gin'\n")
    with pytest.raises(ConfigError, match=r"gin includes form a cycle \(.*a.gin -> b.gin -> a.gin\)"):
        config_text([str(tmp_path / "a.gin")], [])
    (tmp_path / "c.gin").write_text("include 'nope.gin'\n")
    with pytest.raises(ConfigError, match="gin file 'nope.gin' not found"):
        parse([str(tmp_path / "c.gin")], [])


@pytest.mark.parametrize("param,message", [
    ("train.fild = @split",
     "Configurable 'train' doesn't have a parameter named 'fild' (--gin_param 1: train.fild = "
     "@split). Did you mean 'field'?"),
    ("laplace.tua = 0.1", "named 'tua' (--gin_param 1: laplace.tua = 0.1). Did you mean 'tau'?"),
    ("train.kernel = @gausian",
     "No configurable matching reference '@gausian' (--gin_param 1: train.kernel = @gausian). "
     "Registered kernels: cauchy, energy, gaussian, imq, laplace, matern32, matern52. "
     "Did you mean 'gaussian'?"),
    ("train.kernel = @kernel.gausian()", "Registered kernels: cauchy, energy, gaussian,"),
    ("train.lr_schedule = @cosin()", "Registered schedules: "),
    ("trian.steps = 5", "No configurable matching 'trian' (--gin_param 1: trian.steps = 5). "
                        "Did you mean 'train' (the trainer)"),
    ("train.generator = @gausian", "Registered generators: conv, coord_conv, dit, dit_b, dit_l, dit_s, "
                                   "dit_tiny, mlp. Did you mean 'gaussian' (kernel) or "
                                   "'two_gaussians' (dataset) or 'grid_gaussians' (dataset)"),
    ("train.steps = 4\nmlp.activation = @gausian", "(--gin_param 1: mlp.activation = @gausian). "
                                                    "Did you mean 'gaussian' (kernel) or"),
    ("mlp.activation = @qqqq", "No registered name is close; zoo.names(kind) lists one kind's "
                               "names (kinds: autoencoder, dataset,"),
])
def test_gin_errors_point_at_the_fix(param, message):
    with pytest.raises(ConfigError) as err:
        parse(["gin/debug.gin"], [param])
    text = str(err.value)
    assert text.startswith("bad gin config: ") and message in text, text
    assert "\n" not in text and "swiss_roll" not in text  # one line, not every kind's names


def test_errors_name_the_file_and_line_they_come_from(tmp_path):
    (tmp_path / "bad.gin").write_text("import zoo\ninclude 'gin/debug.gin'\n\ntrain.kernel = @laplce\n")
    with pytest.raises(ConfigError, match=r"\(.*bad.gin, line 4: train.kernel = @laplce\)\. "
                                          r"Registered kernels: .* Did you mean 'laplace'\?"):
        parse([str(tmp_path / "bad.gin")], [])
    (tmp_path / "syntax.gin").write_text("import zoo\ntrain.steps = = 3\n")
    with pytest.raises(ConfigError, match=r"syntax.gin, line 2: train.steps = = 3"):
        parse([str(tmp_path / "syntax.gin")], [])
    with pytest.raises(ConfigError, match=r"a bracket opened and not closed\) \(--gin_param 1\)"):
        parse(["gin/debug.gin"], ["train.temperatures = (0.1,"])


def test_a_file_outside_the_repository_including_one_inside_logs_no_error(tmp_path, monkeypatch,
                                                                         caplog, capfd):
    (tmp_path / "mine.gin").write_text("include 'gin/debug.gin'\ntrain.steps = 3\n")
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO):
        text = parse(["mine.gin"], [])
    assert "train.steps = 3" in text and gin.get_bindings("train")["steps"] == 3
    assert "Path not found" not in caplog.text and "Path not found" not in capfd.readouterr().err
