"""A sweep folder's curves.png: every run's metric and loss curves overlaid (zoo/sweeps/curves.py)."""
import json

import matplotlib.pyplot as plt

from zoo.sweeps.curves import series, sweep_curves


def _run(folder, name, ed, loss):
    wd = folder / name
    wd.mkdir(parents=True)
    (wd / "config.gin").write_text(f"train.seed = 0\nrow.name = '{name[:-3]}'\n")
    (wd / "summary.json").write_text(json.dumps({"status": "finished", "final_metrics": {"energy_distance": ed[-1][1]}}))
    lines = [{"kind": "train", "step": s, "loss": v} for s, v in loss]
    lines += [{"kind": "eval", "step": s, "energy_distance": v} for s, v in ed]
    (wd / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"kind": "tr')


def test_series_reads_one_kind_and_key():
    recs = [{"kind": "train", "step": 1, "loss": 2.0}, {"kind": "eval", "step": 1, "loss": 9.0},
            {"kind": "train", "step": 2}, {"kind": "train", "step": 3, "loss": 1.0}]
    assert series(recs, "train", "loss") == ([1, 3], [2.0, 1.0])


def test_one_colour_and_legend_entry_per_row_over_seeds(tmp_path, monkeypatch):
    sweep = tmp_path / "paper_x"
    for seed in (0, 1):
        _run(sweep, f"attraction-1.0_s{seed}", [(100, 0.2), (200, 0.1)], [(10, 1.0), (200, 0.1)])
        _run(sweep, f"attraction-2.0_s{seed}", [(100, 0.5), (200, 0.4)], [(10, 2.0), (200, 0.5)])
    (sweep / "empty_s0").mkdir()
    (sweep / "empty_s0" / "config.gin").write_text("")  # a run that logged nothing: left out
    figures = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    out = sweep_curves(sweep)
    real_close(figures[0])
    assert out == sweep / "curves.png" and out.stat().st_size > 1000
    left, right = figures[0].axes[:2]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["attraction-1.0", "attraction-2.0"]
    assert len(left.get_lines()) == 4 and len(right.get_lines()) == 4
    colours = [line.get_color() for line in left.get_lines()]
    assert colours[0] == colours[1] != colours[2] == colours[3]
    assert list(left.get_lines()[0].get_ydata()) == [0.2, 0.1] and right.get_yscale() == "log"
    assert figures[0]._suptitle.get_text() == "paper_x: 4 runs, 2 rows"


def test_a_folder_without_records_gives_no_picture(tmp_path):
    (tmp_path / "s" / "r").mkdir(parents=True)
    (tmp_path / "s" / "r" / "config.gin").write_text("")
    assert sweep_curves(tmp_path / "s") is None and not (tmp_path / "s" / "curves.png").exists()


def test_spearman_and_loss_tracking():
    from zoo.sweeps.curves import loss_tracks, spearman

    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 4.5 / 22.5 ** 0.5) < 1e-12  # tied ranks 1.5
    assert spearman([1, 2], [1, 2]) is None and spearman([1, 1, 1], [1, 2, 3]) is None
    recs = [{"kind": "train", "step": s, "loss": loss} for s, loss in ((10, 3.0), (20, 2.0), (30, 2.5))]
    recs += [{"kind": "eval", "step": s, "energy_distance": d} for s, d in ((10, 0.3), (20, 0.1), (30, 0.2))]
    recs.append({"kind": "eval", "step": 40, "energy_distance": 0.05})  # no loss logged at 40: left out
    assert loss_tracks(recs, "energy_distance") == 1.0


def test_leaderboard_track_adds_the_correlation_per_row(tmp_path, capsys):
    from zoo.cli import leaderboard

    sweep = tmp_path / "s"
    _run(sweep, "falls_s0", [(10, 0.3), (20, 0.2), (30, 0.1)], [(10, 3.0), (20, 2.0), (30, 1.0)])
    _run(sweep, "flat_s0", [(10, 0.3), (20, 0.2), (30, 0.1)], [(10, 1.0), (20, 2.0), (30, 3.0)])
    md = tmp_path / "t.md"
    assert leaderboard.main([str(sweep), "--track", "energy_distance", "--metric",
                             "loss_vs_energy_distance", "--markdown", str(md)]) == 0
    text = md.read_text()
    assert "| falls_s0 | 'falls' | finished | 1 | 1 |" in text
    assert "| flat_s0 | 'flat' | finished | 1 | -1 |" in text
