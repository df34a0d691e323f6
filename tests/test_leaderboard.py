"""The leaderboard over a results folder with finished, failed, running and corrupt runs."""
import csv
import importlib.util
import io
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
    # a comment that holds a quote ("evaluator's") is still a comment, not part of the value
    c = parse_bindings("w.e = 'shapes'   # scored at the evaluator's 32x32\nw.f = \"it's\" # x\n")
    assert c == {"w.e": "'shapes'", "w.f": '"it\'s"'}


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
    assert "* unbiased estimate: ~0 at a match, may be < 0" in out  # the CLI prints the footer


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
    assert ("| run | kernel | temperatures | status | n | energy_distance (lower) * | recall (higher) |"
            in text)
    assert "| gaussian-a-s{0,1} | gaussian | (1.0, 4.0) | finished | 2 |" in text
    assert "\n\\* unbiased estimate: ~0 at a match, may be < 0" in text
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


def _render(board_or_root, width=80, **kw) -> str:
    from rich.console import Console

    from zoo.sweeps.print_board import print_board

    console = Console(width=width, color_system=None, record=True, file=io.StringIO())
    print_board(board_or_root, console=console, **kw)
    return console.export_text()


def test_default_order_is_best_first_by_the_main_metric(results):
    groups = load([results]).groups  # energy distance leads a point-cloud board (lower first)
    eds = [g["stats"]["energy_distance"][0] for g in groups if "energy_distance" in g["stats"]]
    assert eds == [pytest.approx(0.06), pytest.approx(0.15), pytest.approx(0.3)]
    assert "energy_distance" not in groups[-1]["stats"]  # no value: last


def test_image_board_sorts_by_fd(tmp_path):
    for name, fd, acc in (("a", 30.0, 0.99), ("b", 20.0, 0.90), ("c", 25.0, 0.95)):
        wd = tmp_path / name
        wd.mkdir()
        (wd / "summary.json").write_text(json.dumps({
            "status": "finished", "seed": 0, "kernel": name, "dataset": "digits",
            "final_metrics": {"fd": fd, "class_accuracy": acc, "energy_distance": 1.0 / fd}}))
    assert [g["key"]["kernel"] for g in load([tmp_path]).groups] == ["b", "c", "a"]


def test_booleans_and_strings_are_not_metrics(tmp_path):
    wd = tmp_path / "odd"
    wd.mkdir()
    (wd / "summary.json").write_text(json.dumps({
        "status": "finished", "seed": 0, "final_metrics": {
            "precision": True, "recall": "high", "mode_kl": None, "energy_distance": 0.25}}))
    run = read_run(wd)
    assert run.metrics == {"energy_distance": 0.25}
    board = load([tmp_path], metrics=["energy_distance", "precision", "recall"])
    header, rows = board.rows()
    cells = dict(zip(header, rows[0]))
    assert cells["precision (higher)"] == "-" and cells["recall (higher)"] == "-"
    assert cells["energy_distance (lower) *"] == "0.25"


def _field_runs(root):
    for field in ("sliced", "meanshift"):
        for kernel, ed in (("laplace", 0.1), ("gaussian", 0.2)):
            wd = root / f"{field}-{kernel}"
            wd.mkdir(parents=True)
            (wd / "summary.json").write_text(json.dumps({
                "status": "finished", "seed": 0, "field": field, "kernel": kernel,
                "final_metrics": {"energy_distance": ed + (field == "sliced"), "precision": 0.9}}))


def test_an_option_a_component_ignores_is_marked(tmp_path):
    _field_runs(tmp_path)
    board = load([tmp_path])
    header, rows = board.rows()
    kernel = {(r[header.index("field")], r[header.index("kernel")].split()[0]): r[header.index("kernel")]
              for r in rows}
    assert kernel[("sliced", "laplace")] == "laplace †"
    assert kernel[("meanshift", "laplace")] == "laplace"  # meanshift reads its kernel
    assert board.notes()[0] == "† sliced ignores kernel: rows that differ only there repeat one setting"
    text = _render(tmp_path)
    assert "laplace †" in text and "† sliced ignores kernel" in text
    assert "* unbiased estimate: ~0 at a match, may be < 0" in text


def test_names_are_never_broken_at_80_columns(tmp_path):
    long_keys = ("train.temperatures", "drift.scaling", "train.batch_size", "train.lr")
    names = []
    for i in range(3):
        name = f"kernel-laplace_temperatures-0.{i}5-2.0_scaling-official_batch-{256 << i}_s{i}"
        wd = tmp_path / name
        wd.mkdir()
        names.append(name)
        (wd / "config.gin").write_text("".join(f"{k} = {v}\n" for k, v in zip(
            long_keys, (f"(0.{i}5, 2.0)", f"'mode{i}'", 256 << i, f"1e-{i + 3}"))))
        (wd / "summary.json").write_text(json.dumps({
            "status": "finished", "seed": 0, "steps_per_s": 12.5, "wall_time": 88.0,
            "final_metrics": {"energy_distance": 0.01 * i, "mmd": 1e-4, "sliced_w2": 0.03,
                              "precision": 0.9, "recall": 0.8, "mode_kl": 0.1}}))
    text = _render(tmp_path)
    assert max(len(line) for line in text.splitlines()) <= 80
    words = names + ["temperatures", "scaling", "batch_size", "energy_distance", "sliced_w2",
                     "precision", "recall", "mode_kl", "steps_per_s", "wall_time", "status"]
    for word in words:
        assert word in text, word
    assert "…" not in text


def test_samples_panels_are_titled_once(results, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from zoo.sweeps.leaderboard import samples_grid

    saved = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (saved.append(fig), original(fig, *a, **k)))
    assert samples_grid(load([results]), tmp_path / "grid.png") == 6
    titles = [ax.get_title() for ax in saved[0].axes]
    assert titles == [""] * len(titles)  # each samples.png already carries its run's name


def test_a_sweep_ends_with_its_leaderboard(results):
    from types import SimpleNamespace

    from rich.console import Console

    from zoo.sweeps.live import SweepView

    sweep = results / "runs" / "sweeps" / "k"
    jobs = [SimpleNamespace(name=p.name, workdir=str(p)) for p in sorted(sweep.iterdir())]
    console = Console(width=200, color_system=None, record=True, file=io.StringIO())
    with SweepView(jobs, console=console) as view:
        view.update({j.name: "done" for j in jobs})
    text = console.export_text()
    assert "7 runs" in text and "gaussian-a-s{0,1}" in text and "0.06 +- 0.014" in text
    with pytest.raises(KeyboardInterrupt):  # an interrupted watch prints no board
        with SweepView(jobs, console=(quiet := Console(record=True, file=io.StringIO()))):
            raise KeyboardInterrupt
    assert "runs" not in quiet.export_text()
