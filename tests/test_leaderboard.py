"""The leaderboard over a results folder with finished, failed, running and corrupt runs."""
import csv
import importlib.util
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from zoo.sweeps.leaderboard import find_runs, load, parse_bindings, read_run

ROOT = Path(__file__).resolve().parent.parent
TEMPS = {"a": "(1.0, 4.0)", "b": "(0.5, 2.0)"}


def _tool(name):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tool_main(name):
    return _tool(name).main


def make_run(root, rel, kernel, temps, seed, status=None, ed=None, recall=None, summary_text=None,
             metrics_bytes=None):
    wd = Path(root) / rel
    wd.mkdir(parents=True)
    (wd / "config.gin").write_text(
        "# ---- gin/debug.gin\ninclude 'gin/base.gin'\ntrain.dataset = @grid_gaussians()  # the grid\ntrain.field = @split\n"
        "train.temperatures = (0.02,\n    0.05)\n# ---- --gin_param\n"
        f"train.kernel = @{kernel}\ntrain.temperatures = {TEMPS[temps]}\ntrain.seed = {seed}\n")
    summary = {"status": status, "seed": seed, "steps": 300, "generator": "mlp", "field": "split",
               "kernel": kernel, "negatives": "self", "dataset": "grid_gaussians"}
    if status == "finished":
        summary["final_metrics"] = {"energy_distance": ed, "recall": recall}
        summary["steps_per_s"] = 10.0 + seed
        plt.imsave(wd / "samples.png", np.random.default_rng(seed).random((20, 40, 3)))
    if status == "failed":
        summary["error"] = "FloatingPointError: non-finite loss at step 7"
    if status is not None or summary_text is not None:
        (wd / "summary.json").write_text(summary_text if summary_text is not None else json.dumps(summary))
    if metrics_bytes is not None:
        (wd / "metrics.jsonl").write_bytes(metrics_bytes)
    return wd


@pytest.fixture()
def results(tmp_path):
    root = tmp_path / "results"
    s = "runs/sweeps/k"
    make_run(root, f"{s}/laplace-a-s0", "laplace", "a", 0, "finished", 0.10, 0.90)
    make_run(root, f"{s}/laplace-a-s1", "laplace", "a", 1, "finished", 0.20, 0.80)
    make_run(root, f"{s}/gaussian-a-s0", "gaussian", "a", 0, "finished", 0.05, 0.95)
    make_run(root, f"{s}/gaussian-a-s1", "gaussian", "a", 1, "finished", 0.07, 0.97)
    make_run(root, f"{s}/laplace-b-s0", "laplace", "b", 0, "finished", 0.30, 0.70)
    make_run(root, f"{s}/gaussian-b-s0", "gaussian", "b", 0, "failed")
    make_run(root, f"{s}/gaussian-b-s1", "gaussian", "b", 1, "running",
             metrics_bytes=b'{"kind": "train", "step": 40, "loss": 2.0}\n{"kind": "tr')
    make_run(root, "old/deep/er/truncated", "laplace", "a", 2, summary_text='{"status": "fini')
    make_run(root, "old/garbage", "laplace", "a", 3, "running", metrics_bytes=b"\x00\xff\xfe{{{\n\x89PNG\n")
    make_run(root, "old/list", "gaussian", "b", 2, summary_text="[1, 2]")
    make_run(root, "old/no_metrics", "gaussian", "b", 3, "finished", summary_text='{"status": "finished"}')
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a run")
    return root


def test_bindings_follow_includes_and_join_lines():
    b = parse_bindings("include 'gin/base.gin'\nx.a = (1,\n  2)  # c\nx.s = 'a#b'\ntrain.lr = 0.5\n")
    assert b["x.a"] == "(1, 2)" and b["x.s"] == "'a#b'" and b["train.lr"] == "0.5"
    assert b["train.generator"] == "@mlp"  # from gin/base.gin


def test_every_kind_of_run_is_read_without_crashing(results):
    runs = {p.name: read_run(p) for p in find_runs([results])}
    assert len(runs) == 11 and "notes" not in runs
    assert runs["laplace-a-s0"].status == "finished" and runs["laplace-a-s0"].metrics["energy_distance"] == 0.1
    assert runs["laplace-a-s0"].metrics["steps_per_s"] == 10.0  # speed from summary.json
    assert runs["gaussian-b-s1"].status == "running" and runs["gaussian-b-s1"].note == "step 40/300"
    assert runs["garbage"].status == "running" and runs["garbage"].note == "step 0/300"
    for name in ("truncated", "list", "no_metrics"):
        assert runs[name].status == "corrupt", name
    assert runs["truncated"].components["kernel"] == "laplace"  # from config.gin
    assert runs["gaussian-b-s0"].status == "failed" and "non-finite" in runs["gaussian-b-s0"].note


def test_table_groups_seeds_and_marks_status(results, capsys):
    board = load([results])
    assert board.columns == ["kernel", "temperatures"] and board.constants["field"] == "split"
    rows = {(g["key"]["kernel"], g["key"]["temperatures"]): g for g in board.groups}
    la = rows[("laplace", TEMPS["a"])]
    assert la["n"] == 2 and la["stats"]["energy_distance"][0] == pytest.approx(0.15)
    assert la["stats"]["energy_distance"][1] == pytest.approx(np.std([0.1, 0.2], ddof=1))
    assert la["status"] == "2 finished, 1 running, 1 corrupt"
    assert rows[("gaussian", TEMPS["b"])]["n"] == 0
    assert board.groups[board.best("energy_distance")] is rows[("gaussian", TEMPS["a"])]
    assert board.groups[board.best("recall")] is rows[("gaussian", TEMPS["a"])]
    assert _tool_main("leaderboard")([str(results)]) == 0
    out = capsys.readouterr().out
    assert "0.15 +- 0.071" in out and "corrupt" in out and "failed" in out and "11 runs" in out


def test_filter_group_by_and_sort(results):
    only = load([results], filters=["kernel=gaussian"])
    assert {r.components["kernel"] for r in only.runs} == {"gaussian"} and "kernel" not in only.columns
    assert only.constants["kernel"] == "gaussian"
    assert len(load([results], filters=["kernel!=gaussian", "temperatures=(1.0,*"]).runs) == 4
    assert [r.path.name for r in load([results], filters=["status=failed"]).runs] == ["gaussian-b-s0"]
    by_kernel = load([results], group_by=["kernel"])
    lap = next(g for g in by_kernel.groups if g["key"]["kernel"] == "laplace")
    assert lap["n"] == 3 and lap["stats"]["energy_distance"][0] == pytest.approx(0.2)
    ranked = load([results], sort="energy_distance").groups
    eds = [g["stats"]["energy_distance"][0] for g in ranked if "energy_distance" in g["stats"]]
    assert eds == sorted(eds) and len(eds) == 3 and "energy_distance" not in ranked[-1]["stats"]
    recalls = [g["stats"]["recall"][0] for g in load([results], sort="recall").groups if g["stats"]]
    assert recalls == sorted(recalls, reverse=True)
    assert [g["key"]["temperatures"] for g in load([results], sort="temperatures").groups][0] == TEMPS["b"]
    for bad in (dict(filters=["kernel"]), dict(group_by=["nope"]), dict(sort="nope")):
        with pytest.raises(ValueError):
            load([results], **bad)


def test_markdown_and_csv_exports(results, tmp_path, capsys):
    md, table = tmp_path / "t.md", tmp_path / "t.csv"
    args = [str(results), "--metric", "energy_distance,recall", "--markdown", str(md), "--csv", str(table)]
    assert _tool_main("leaderboard")(args) == 0
    text = md.read_text()
    assert text.startswith("# Leaderboard") and "drift-zoo leaderboard" in text and "--markdown" in text
    assert "**0.06 +- 0.014**" in text and "**0.96 +- 0.014**" in text
    assert "| kernel | temperatures | status | n | energy_distance (lower) | recall (higher) |" in text
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 4
    ga = next(r for r in rows if r["kernel"] == "gaussian" and r["temperatures"] == TEMPS["a"])
    assert float(ga["energy_distance_mean"]) == pytest.approx(0.06) and ga["n"] == "2"
    gb = next(r for r in rows if r["kernel"] == "gaussian" and r["temperatures"] == TEMPS["b"])
    assert gb["energy_distance_mean"] == "" and gb["n"] == "0"


def test_plot_and_samples_pngs(results, tmp_path, capsys):
    main = _tool_main("leaderboard")
    plot, grid = tmp_path / "p.png", tmp_path / "s.png"
    assert main([str(results), "--plot", "energy_distance", "--x", "temperatures", "--out", str(plot),
                 "--filter", "seed=0", "--samples", str(grid)]) == 0
    assert plt.imread(plot).ndim == 3 and plt.imread(grid).shape[1] > plt.imread(grid).shape[0]
    assert "3 runs" in capsys.readouterr().out  # laplace-a, gaussian-a, laplace-b at seed 0
    assert main([str(results), "--plot", "mmd", "--x", "temperatures", "--out", str(plot)]) == 2
    assert "no finished run" in capsys.readouterr().err


def test_markdown_of_a_sweep_folder_names_the_sweep_that_made_it(tmp_path):
    lb = _tool("leaderboard")
    sweep_root = tmp_path / "sweeps" / "toy_kernels"       # gin/sweeps/toy_kernels.py exists
    assert lb._sweep_commands([sweep_root]).startswith(
        "drift-zoo sweep gin/sweeps/toy_kernels.py --workers 2 && \\")
    assert lb._sweep_commands([tmp_path / "sweeps" / "no_such_sweep"]) == ""
    assert lb._sweep_commands([tmp_path]) == ""
