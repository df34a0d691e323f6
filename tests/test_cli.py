"""The installed ``drift-zoo`` command (zoo/cli): help that keeps examples, ls, training from
another folder, one-line bad input (exit 2), crashes with their traceback, Ctrl-C (exit 130)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.cli import COMMANDS, main, split_imports

ROOT = Path(__file__).resolve().parent.parent
DRIFT_ZOO = Path(sys.executable).parent / "drift-zoo"
TINY = ["--gin_file", "gin/debug.gin", "--no_progress", "--gin_param", "train.steps = 4",
        "--gin_param", "train.eval_samples = 128"]

# a plug-in field that misbehaves on its Nth call (N from the environment): raise or Ctrl-C itself
MISCHIEF = '''"""A field that raises ValueError or sends itself SIGINT on call number ZOO_TEST_AT."""
import os, signal
from zoo.fields import meanshift
from zoo.registry import register

CALLS = [0]


@register("field", "mischief")
def mischief(x, pos, neg=None, *, kernel, **kw):
    """Mean shift until call ZOO_TEST_AT, then ZOO_TEST_DO (raise / sigint)."""
    CALLS[0] += 1
    if CALLS[0] == int(os.environ["ZOO_TEST_AT"]):
        if os.environ["ZOO_TEST_DO"] == "raise":
            raise ValueError("the mischief field broke mid-run")
        os.kill(os.getpid(), signal.SIGINT)
    return meanshift(x, pos, neg, kernel=kernel, **kw)
'''


def drift_zoo(*args, cwd=ROOT, env=None):
    """Run the installed command on the tree under test; returns the CompletedProcess."""
    assert DRIFT_ZOO.exists(), f"{DRIFT_ZOO} missing: install the project (make venv)"
    full = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", COLUMNS="200", **(env or {}))
    return subprocess.run([str(DRIFT_ZOO), *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=600)


def test_split_imports_takes_the_global_option_anywhere():
    argv = ["--import", "a.py", "train", "--gin_file", "x.gin", "--import=b", "--", "--import"]
    assert split_imports(argv) == (["a.py", "b"], ["train", "--gin_file", "x.gin", "--", "--import"])


def test_help_lists_commands_and_keeps_multiline_examples():
    top = drift_zoo("--help")
    assert top.returncode == 0
    lines = top.stdout.splitlines()
    for name in COMMANDS:
        assert any(line.startswith(f"  {name} ") for line in lines), name
    sweep = drift_zoo("sweep", "--help").stdout
    assert sweep.startswith("usage: drift-zoo sweep")
    # a continued example keeps its own lines (not joined into one paragraph)
    assert "    drift-zoo sweep --gin_file gin/experiments/toy.gin \\\n        --axis" in sweep
    assert "--import MODULE_OR_PATH" in sweep
    bad = drift_zoo("trian")
    assert bad.returncode == 2 and "unknown command 'trian'" in bad.stderr
    assert "Did you mean 'train'?" in bad.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help_under_its_name(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: drift-zoo {command}")


def test_bench_finds_its_benchmarks_in_the_package(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("data", "faiss", "landmark", "stream"))


def test_ls_lists_components_with_docstrings_and_gin_parameters():
    r = drift_zoo("ls", "kernel")
    assert r.returncode == 0
    assert "laplace   k = exp(-r / tau); positive definite (Matern nu = 1/2)." in r.stdout
    assert "field" not in r.stdout.split()  # only the kernels
    assert "  meanshift " in drift_zoo("ls").stdout  # every kind
    verbose = drift_zoo("ls", "field", "--verbose").stdout
    assert "meanshift.affinity_floor = 1e-06" in verbose and "meanshift.kernel = REQUIRED" in verbose
    bad = drift_zoo("ls", "feild")
    assert bad.returncode == 2 and "Did you mean 'field'?" in bad.stderr


@pytest.mark.slow
def test_train_from_another_folder_prints_the_pictures(tmp_path):
    r = drift_zoo("train", *TINY, "--workdir", "run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "samples: run/samples.png" in r.stdout and "curves: run/curves.png" in r.stdout
    assert (tmp_path / "run" / "samples.png").is_file() and (tmp_path / "run" / "curves.png").is_file()
    assert not (tmp_path / "run" / "plugins").exists()  # no plug-in: nothing copied


@pytest.mark.slow
def test_eval_waits_for_no_one_a_busy_run_folder_is_refused(tmp_path):
    from zoo.run.folder import Run

    assert drift_zoo("train", *TINY, "--workdir", "run", cwd=tmp_path).returncode == 0
    before = (tmp_path / "run" / "summary.json").read_text()
    with Run(tmp_path / "run").lock("train"):  # a live writer (this process) holds the folder
        r = drift_zoo("eval", "--workdir", "run", "--num", "256", cwd=tmp_path)
    assert r.returncode == 2 and f"in use by pid {os.getpid()} (train)" in r.stderr, r.stderr
    assert (tmp_path / "run" / "summary.json").read_text() == before  # nothing was written
    r = drift_zoo("eval", "--workdir", "run", "--num", "256", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '"eval_samples": 256' in (tmp_path / "run" / "summary.json").read_text()


@pytest.mark.parametrize("args,message", [
    (["--gin_param", "train.batch_size = 1"], "error: train.batch_size must be >= 2"),
    (["--gin_param", "train.kernel = @laplce"], "Did you mean 'laplace'"),
    (["--gin_file", "nope.gin"], "error: gin file 'nope.gin' not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = drift_zoo("train", "--gin_file", "gin/debug.gin", *args, "--workdir", "run", cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-3000:]
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists()  # no work was done


@pytest.mark.slow
def test_a_crash_during_training_keeps_its_traceback(tmp_path):
    (tmp_path / "mischief.py").write_text(MISCHIEF)
    r = drift_zoo("--import", "mischief.py", "train", *TINY, "--gin_param", "train.field = @mischief",
                  "--workdir", "run", cwd=tmp_path, env={"ZOO_TEST_AT": "3", "ZOO_TEST_DO": "raise"})
    assert r.returncode == 1
    assert "Traceback (most recent call last)" in r.stderr
    assert "ValueError: the mischief field broke mid-run" in r.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed" and "mischief field broke" in summary["error"]
    assert (tmp_path / "run" / "plugins" / "mischief.py").is_file()  # kept even on a crash


@pytest.mark.slow
def test_ctrl_c_exits_130_with_the_resume_hint_and_the_rerun_resumes(tmp_path):
    (tmp_path / "mischief.py").write_text(MISCHIEF)
    cmd = ["--import", "mischief.py", "train", *TINY, "--gin_param", "train.field = @mischief",
           "--workdir", "run"]
    r = drift_zoo(*cmd, cwd=tmp_path, env={"ZOO_TEST_AT": "2", "ZOO_TEST_DO": "sigint"})
    assert r.returncode == 130, r.stderr[-3000:]
    step = int(re.search(r"interrupted at step (\d+); rerun the same command to resume", r.stdout)[1])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["step"] == step and 0 < step < 4
    again = drift_zoo(*cmd, cwd=tmp_path, env={"ZOO_TEST_AT": "0", "ZOO_TEST_DO": "sigint"})
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["resumed_from"] == step


def test_old_tool_scripts_still_run_through_the_cli():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "probe_field.py"), "--help"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("usage: drift-zoo probe")
    m = subprocess.run([sys.executable, "-m", "zoo.cli", "ls", "kernel"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert m.returncode == 0 and "laplace" in m.stdout
