"""Quality against CPU time (zoo/sweeps/time_curves.py): x = step * cpu_time / steps."""
import json

from zoo.sweeps.time_curves import main, seconds_per_step


def test_seconds_per_step_prefers_cpu_time():
    assert seconds_per_step({"cpu_time": 120.0, "wall_time": 60.0, "step": 600}) == 0.2
    assert seconds_per_step({"wall_time": 60.0, "step": 600}) == 0.1
    assert seconds_per_step({"status": "running"}) is None


def test_plot_of_finished_runs(tmp_path):
    for seed, cpu in ((0, 60.0), (1, 90.0)):
        run = tmp_path / f"knn_s{seed}"
        run.mkdir()
        (run / "config.gin").write_text("train.steps = 100\n")
        (run / "summary.json").write_text(json.dumps(
            {"status": "finished", "step": 100, "cpu_time": cpu, "final_metrics": {"fd": 9.0}}))
        (run / "metrics.jsonl").write_text("".join(
            json.dumps({"kind": "eval", "step": s, "fd": 100.0 / s}) + "\n" for s in (50, 100)))
    out = tmp_path / "t.png"
    assert main([str(tmp_path), "--metric", "fd", "--floor", "fd=3.3", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert main([str(tmp_path / "knn_s0" / "missing"), "--out", str(tmp_path / "u.png")]) == 1
