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
              "--root", str(root), "--out", str(out), "--workers", "2"]
    assert toy_table.main([*common, "--steps", "3,6"]) == 0
    for steps in (3, 6):
        summary = json.loads((root / f"tiny-thin_pinwheel-{steps}steps-s0" / "summary.json").read_text())
        assert (summary["status"], summary["step"]) == ("finished", steps)
    text = out.read_text()
    assert "--steps 3,6" in text
    assert "| thin_pinwheel | tiny | 3 |" in text and "| thin_pinwheel | tiny | 6 |" in text
    assert toy_table.main([*common, "--steps", "3,9", "--only_finished"]) == 0
    assert not (root / "tiny-thin_pinwheel-9steps-s0").exists()
    rows = [line for line in out.read_text().splitlines() if line.startswith("| thin_pinwheel")]
    assert rows[0].endswith("| 1 |") and rows[1].startswith("| thin_pinwheel | tiny | 9 | - |")
    assert "thin_pinwheel / tiny / 9 steps (0 of 1)" in out.read_text()
    assert "--only_finished" not in out.read_text()  # the command recorded trains what is missing
