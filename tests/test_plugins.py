"""Plug-ins from outside the repository (zoo/plugins.py, ``drift-zoo --import``, issue 13):
loading by path or dotted name, clear errors, and a run that keeps its plug-in: train, sample,
a 2-point sweep, then eval after the plug-in file is deleted."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import plugins

ROOT = Path(__file__).resolve().parent.parent
DRIFT_ZOO = Path(sys.executable).parent / "drift-zoo"
TINY = ["--gin_file", "gin/debug.gin", "--no_progress", "--gin_param", "train.steps = 4",
        "--gin_param", "train.eval_samples = 128"]

PLUGIN = '''"""A field and a kernel from outside the repository."""
from zoo.fields import meanshift
from zoo.kernels import laplace, Kernel
from zoo.registry import register


@register("field", "{field}")
def {field}(x, pos, neg=None, *, kernel, **kw):
    """Mean shift, from a plug-in."""
    return meanshift(x, pos, neg, kernel=kernel, **kw)


@register("kernel", "{kernel}")
class {kernel}(Kernel):
    """k = exp(-2 r / tau), from a plug-in."""

    def log_profile(self, r):
        return -2 * r / self.tau

    def dlog_profile(self, r):
        return -2 / self.tau + 0 * r
'''


def write_plugin(folder: Path, stem: str, field: str, kernel: str) -> Path:
    path = folder / f"{stem}.py"
    path.write_text(PLUGIN.format(field=field, kernel=kernel))
    return path


def drift_zoo(*args, cwd, check=True):
    """The installed command, importing the tree under test."""
    assert DRIFT_ZOO.exists(), f"{DRIFT_ZOO} missing: install the project (make venv)"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    r = subprocess.run([str(DRIFT_ZOO), *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


# ------------------------------------------------------------------------------- zoo.plugins
def test_load_a_file_registers_its_components_once(tmp_path):
    path = write_plugin(tmp_path, "plug_a", "plug_a_field", "plug_a_kernel")
    (module,) = plugins.load([str(path)])
    assert "plug_a_field" in zoo.names("field") and "plug_a_kernel" in zoo.names("kernel")
    assert plugins.load([str(path)]) == [module]  # loaded once: no duplicate registration
    assert str(path.resolve()) in plugins.sources()
    saved = plugins.save(tmp_path / "run")
    assert (tmp_path / "run" / "plugins" / "plug_a.py").read_text() == path.read_text()
    assert tmp_path / "run" / "plugins" / "plug_a.py" in saved
    assert module in plugins.load_run(tmp_path / "run")  # same name: not loaded twice


def test_load_a_dotted_module_from_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "plugpkg").mkdir()
    (tmp_path / "plugpkg" / "__init__.py").write_text("")
    write_plugin(tmp_path / "plugpkg", "fields", "plug_b_field", "plug_b_kernel")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    (module,) = plugins.load(["plugpkg.fields"])
    assert module.__name__ == "plugpkg.fields" and "plug_b_field" in zoo.names("field")


def test_errors_name_the_plugin_and_what_to_change(tmp_path):
    with pytest.raises(plugins.PluginError, match=r"--import nope\.py: no such file"):
        plugins.load(["nope.py"])
    with pytest.raises(plugins.PluginError, match=r"--import no_such_plugin_mod: .*PYTHONPATH"):
        plugins.load(["no_such_plugin_mod"])
    broken = tmp_path / "broken_plug.py"
    broken.write_text("raise RuntimeError('half-written plug-in')\n")
    with pytest.raises(plugins.PluginError, match=r"broken_plug\.py failed: RuntimeError: half-written"):
        plugins.load([str(broken)])
    clash = tmp_path / "json.py"  # a module name that is taken
    clash.write_text("")
    with pytest.raises(plugins.PluginError, match=r"module named 'json' is already imported.*rename"):
        plugins.load([str(clash)])
    dup = tmp_path / "dup_plug.py"
    dup.write_text("from zoo.registry import register\n@register('kernel', 'laplace')\nclass k: pass\n")
    with pytest.raises(plugins.PluginError, match=r"kernel 'laplace' is already registered"):
        plugins.load([str(dup)])


# ------------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_a_run_keeps_its_plugin_train_sample_sweep_then_eval_without_it(tmp_path):
    user = tmp_path / "user"  # the researcher's folder, outside the repository
    user.mkdir()
    plugin = write_plugin(user, "my_fields", "my_field", "my_kernel")
    uses = ["--gin_param", "train.field = @my_field", "--gin_param", "train.kernel = @my_kernel"]
    r = drift_zoo("--import", "my_fields.py", "train", *TINY, *uses, "--workdir", "run", cwd=user)
    assert "samples: run/samples.png" in r.stdout
    assert (user / "run" / "plugins" / "my_fields.py").read_text() == plugin.read_text()
    assert json.loads((user / "run" / "summary.json").read_text())["field"] == "my_field"

    drift_zoo("sample", "--workdir", "run", "--num", "50", "--out", "s.npy", cwd=user)  # no --import
    assert np.load(user / "s.npy").shape == (50, 2)

    r = drift_zoo("sweep", "--gin_file", "gin/debug.gin", "--import", str(plugin), *uses[2:],
                  "--gin_param", "train.field = @my_field", "--gin_param", "train.steps = 3",
                  "--gin_param", "train.eval_samples = 128", "--axis", "train.seed=0,1",
                  "--root", "sweeps", "--name", "plug", cwd=user)  # relative to cwd
    assert "2 done" in r.stdout, r.stdout
    runs = sorted((user / "sweeps" / "plug").glob("*/summary.json"))
    assert len(runs) == 2
    for summary in runs:
        assert json.loads(summary.read_text())["kernel"] == "my_kernel"
        assert (summary.parent / "plugins" / "my_fields.py").is_file()
        assert "--import" in (summary.parent / "train.log").read_text()

    plugin.unlink()  # the run folder's copy is all that is left
    r = drift_zoo("eval", "--workdir", "run", "--num", "128", cwd=user)
    assert "energy" in r.stdout
    bad = drift_zoo("--import", "my_fields.py", "eval", "--workdir", "run", cwd=user, check=False)
    assert bad.returncode == 2 and "--import my_fields.py: no such file" in bad.stderr


@pytest.mark.slow
def test_a_refused_run_leaves_the_folders_plugins_alone(tmp_path):
    plugin = write_plugin(tmp_path, "my_fields", "my_field", "my_kernel")
    uses = ["--gin_param", "train.field = @my_field", "--gin_param", "train.kernel = @my_kernel"]
    drift_zoo("--import", "my_fields.py", "train", *TINY, *uses, "--workdir", "run", cwd=tmp_path)
    kept = (tmp_path / "run" / "plugins" / "my_fields.py").read_text()
    plugin.write_text(kept + "\n# edited after the run\n")
    r = drift_zoo("--import", "my_fields.py", "train", *TINY, *uses, "--gin_param",
                  "train.steps = 5", "--workdir", "run", cwd=tmp_path, check=False)
    assert r.returncode == 2 and "different config" in r.stderr, r.stderr[-2000:]
    assert (tmp_path / "run" / "plugins" / "my_fields.py").read_text() == kept
