"""drift-zoo toy-table: one row per step count with --steps (issue 16), tiny runs in process."""
import json

import pytest

from zoo.cli import toy_table

TINY = """include 'gin/base.gin'
train.batch_size = 64
train.eval_samples = 128
train.eval_every = 0
train.checkpoint_every = 0
mlp.width = 16
"""


def test_steps_parse_and_reject_text():
    assert toy_table.parse_steps("2000,8000") == (2000, 8000)
    assert toy_table.parse_steps(None) == (None,)
    for bad in ("2000,", "0,10", "many"):
        with pytest.raises(SystemExit, match="--steps must be comma-separated positive integers"):
            toy_table.parse_steps(bad)


def test_table_has_one_row_per_step_count_and_counts_only_finished_runs():
    done = {"status": "finished", "steps_per_s": 5.0,
            "final_metrics": {"energy_distance": 0.001, "precision": 0.9}}
    results = {("toy", "grid_gaussians", 0, 2000): done,
               ("toy", "grid_gaussians", 1, 2000): {**done, "final_metrics": {
                   "energy_distance": 0.003, "precision": 0.8}},
               ("toy", "grid_gaussians", 0, 8000): {"status": "running"}}
    text = toy_table.table(results, ["toy"], ["grid_gaussians"], "cmd", (2000, 8000))
    rows = [line for line in text.splitlines() if line.startswith("| grid_gaussians")]
    assert rows[0].startswith("| grid_gaussians | toy | 2000 | 0.00200 +- 0.00141 | 0.850 +- 0.071")
    assert rows[0].endswith("| 2 |")
    assert rows[1] == "| grid_gaussians | toy | 8000 | - | - | - | - | - | - | 0 |"
    assert "| dataset | config | steps | energy dist." in text
    assert "| steps |" not in toy_table.table(results, ["toy"], ["grid_gaussians"], "cmd")
    assert "fewer than" not in text  # no seed count asked: no closing line
    text = toy_table.table(results, ["toy"], ["grid_gaussians"], "cmd", (2000, 8000), seeds=2)
    assert text.rstrip().endswith("Rows with fewer than 2 finished seeds: grid_gaussians / toy / "
                                  "8000 steps (0 of 2). The command above trains exactly the "
                                  "missing runs (finished ones are reused).")


def test_steps_trains_each_count_and_only_finished_trains_nothing(tmp_path):
    gin_file = tmp_path / "tiny.gin"
    gin_file.write_text(TINY)
    root, out = tmp_path / "runs", tmp_path / "t.md"
    common = ["--config", f"tiny={gin_file}", "--datasets", "thin_pinwheel", "--seeds", "0",
              "--root", str(root), "--out", str(out), "--workers", "2", "--ledger", ""]
    assert toy_table.main([*common, "--steps", "3,6"]) == 0
    for steps in (3, 6):
        summary = json.loads((root / f"tiny-thin_pinwheel-{steps}steps-s0" / "summary.json").read_text())
        assert (summary["status"], summary["step"]) == ("finished", steps)
    text = out.read_text()
    assert "--steps 3,6" in text
    assert "| thin_pinwheel | tiny | 3 |" in text and "| thin_pinwheel | tiny | 6 |" in text
    assert out.with_suffix(".png").stat().st_size > 0 and "](t.png)" in text  # the figure
    assert toy_table.main([*common, "--steps", "3,9", "--only_finished"]) == 0
    assert not (root / "tiny-thin_pinwheel-9steps-s0").exists()
    rows = [line for line in out.read_text().splitlines() if line.startswith("| thin_pinwheel")]
    assert rows[0].endswith("| 1 |") and rows[1].startswith("| thin_pinwheel | tiny | 9 | - |")
    assert "thin_pinwheel / tiny / 9 steps (0 of 1)" in out.read_text()
    assert "--only_finished" not in out.read_text()  # the command recorded trains what is missing


def test_the_ledger_keeps_finished_runs_when_their_folders_are_gone(tmp_path):
    """A finished run becomes a ledger row; with its run folder deleted (a new machine) the table
    shows it without training, and a changed binding is another row that does train."""
    gin_file = tmp_path / "tiny.gin"
    gin_file.write_text(TINY)
    root, out, ledger = tmp_path / "runs", tmp_path / "t.md", tmp_path / "rows.jsonl"
    common = ["--config", f"tiny={gin_file}", "--datasets", "thin_pinwheel", "--seeds", "0,1",
              "--steps", "3", "--root", str(root), "--out", str(out), "--workers", "2",
              "--ledger", str(ledger)]
    assert toy_table.main(common) == 0
    rows = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert sorted((r["config"], r["dataset"], r["seed"], r["steps"]) for r in rows) == [
        ("tiny", "thin_pinwheel", 0, 3), ("tiny", "thin_pinwheel", 1, 3)]
    assert all(r["status"] == "finished" and "energy_distance" in r["final_metrics"]
               and r["cpu_capability"] for r in rows)
    first = out.read_text()
    assert "| thin_pinwheel | tiny | 3 |" in first and first.count("| 2 |") == 1
    assert "Runs per CPU" in first and ": 2." in first

    import shutil
    shutil.rmtree(root)  # the run folders do not survive the machine; the ledger does
    assert toy_table.main(common) == 0
    assert not root.exists() or not any(root.iterdir())  # nothing trained
    assert out.read_text() == first  # the same table, from the ledger's rows
    assert len(ledger.read_text().splitlines()) == 2  # and no row recorded twice

    gin_file.write_text(TINY + "# a comment changes no statement\n")
    assert toy_table.main(common) == 0
    assert not root.exists() or not any(root.iterdir())
    gin_file.write_text(TINY.replace("mlp.width = 16", "mlp.width = 8"))
    assert toy_table.main(common) == 0  # another config: both seeds train again
    assert (root / "tiny-thin_pinwheel-3steps-s0" / "summary.json").exists()
    assert len(ledger.read_text().splitlines()) == 4


def test_ledger_rows_are_keyed_by_statements_and_sample_count(tmp_path):
    from zoo.run.ledger import Ledger, key
    assert key("a = 1\n# note\n", 16384) == key("a = 1  # other note\n", 16384)
    assert key("a = 1\n", 16384) != key("a = 2\n", 16384)
    assert key("a = 1\n", 16384) != key("a = 1\n", 4096) != key("a = 1\n", None)
    ledger = Ledger(tmp_path / "rows.jsonl")
    assert ledger.find("k") is None and ledger.rows() == []
    with pytest.raises(ValueError, match="only finished runs"):
        ledger.add("k", {"status": "running"})
    ledger.add("k", {"status": "finished", "final_metrics": {"precision": 0.5}}, seed=0)
    ledger.add("k", {"status": "finished", "final_metrics": {"precision": 0.7}}, seed=0)
    assert ledger.find("k")["final_metrics"] == {"precision": 0.7}  # the latest row wins
    (tmp_path / "rows.jsonl").write_text(ledger.path.read_text() + "{broken\n")
    with pytest.raises(SystemExit, match="line 3: not a JSON row"):
        ledger.rows()


def test_steps_figure_draws_each_configs_seed_mean_per_step_count_with_gaps():
    from zoo.run import steps_png

    def done(ed, p):
        return {"status": "finished", "final_metrics": {"energy_distance": ed, "precision": p}}
    results = {("a", "pinwheel", 0, 2000): done(0.004, 0.80),
               ("a", "pinwheel", 1, 2000): done(0.002, 0.90),
               ("a", "pinwheel", 0, 8000): done(0.001, 0.95),
               ("b", "pinwheel", 0, 2000): done(0.001, 0.97),
               ("b", "pinwheel", 0, 8000): {"status": "running"},
               ("a", "grid_dense", 0, 8000): done(0.0005, 0.5)}
    fig = steps_png.steps_figure(results, ["a", "b"], ["pinwheel", "grid_dense"], (2000, 8000))
    axes = fig.axes
    assert len(axes) == 4  # 2 metrics x 2 clouds
    ed_pinwheel, p_pinwheel = axes[0], axes[2]
    line_a, line_b = ed_pinwheel.get_lines()[:2]
    assert list(line_a.get_ydata()) == pytest.approx([0.003, 0.001])
    assert line_b.get_ydata()[0] == pytest.approx(0.001)
    assert line_b.get_ydata()[1] != line_b.get_ydata()[1]  # the running run is a gap (NaN)
    assert list(p_pinwheel.get_lines()[0].get_ydata()) == pytest.approx([0.85, 0.95])
    assert [t.get_text() for t in ed_pinwheel.get_xticklabels()] == ["2000", "8000"]
