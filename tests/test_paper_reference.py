"""The leaderboard's paper column: a sweep file's PAPER numbers per row and "direction holds?"."""
import csv

import pytest

from tests.test_leaderboard import make_run
from zoo.cli import leaderboard
from zoo.sweeps.leaderboard import load
from zoo.sweeps.paper import PaperRef, direction, load_reference

SPEC = '''
PAPER = {"kernel=laplace, temperatures=(1.0, 4.0)": 8.46,     # the baseline
         "kernel=gaussian, temperatures=(1.0,4.0)": 9.0,      # paper: worse; ours: better
         "kernel=laplace, temperatures=(0.5, 2.0)": 20.0,     # paper: worse; ours: worse
         "kernel=gaussian, temperatures=(0.5, 2.0)": 12.0,    # no finished run
         "kernel=cauchy": 1.0}                                # matches nothing
PAPER_LABEL = "paper FID"
PAPER_METRIC = "energy_distance"
PAPER_BASELINE = "kernel=laplace, temperatures=(1.0, 4.0)"
'''


@pytest.fixture()
def runs(tmp_path):
    root = tmp_path / "k"
    make_run(root, "laplace-a-s0", "laplace", "a", 0, "finished", 0.10, 0.90)
    make_run(root, "laplace-a-s1", "laplace", "a", 1, "finished", 0.20, 0.80)
    make_run(root, "gaussian-a-s0", "gaussian", "a", 0, "finished", 0.05, 0.95)
    make_run(root, "gaussian-a-s1", "gaussian", "a", 1, "finished", 0.07, 0.97)
    make_run(root, "laplace-b-s0", "laplace", "b", 0, "finished", 0.30, 0.70)
    make_run(root, "gaussian-b-s0", "gaussian", "b", 0, "failed")
    spec = tmp_path / "k.py"
    spec.write_text(SPEC)
    return root, spec


def _by_run(board):
    header, rows = board.rows()
    return header, {r[0]: dict(zip(header, r)) for r in rows}


def test_rows_get_the_paper_number_and_the_direction(runs):
    root, spec = runs
    header, rows = _by_run(load([root], paper=load_reference(spec), metrics=["energy_distance"]))
    assert header[4:7] == ["n", "paper FID", "direction holds? (energy_distance)"]
    direction = {name: (r["paper FID"], r["direction holds? (energy_distance)"]) for name, r in rows.items()}
    assert direction == {"laplace-a-s{0,1}": ("8.46", "baseline"),
                         "gaussian-a-s{0,1}": ("9", "no"),
                         "laplace-b-s0": ("20", "yes"),
                         "gaussian-b-s0": ("12", "-")}


def test_a_difference_within_the_seeds_std_is_said():
    """Baseline 0.15 +- 0.071; a row at 0.06 +- 0.014 lies 0.09 away (> 0.085): a claim; with
    the baseline's std doubled it does not. The paper's own goal can be 'max'."""
    ref = PaperRef({"a": 1.0, "b": 2.0}, metric="energy_distance", baseline="a")
    row = (0.06, 0.014, 2)
    assert direction(ref, "b", row, (0.15, 0.071, 2)) == "no"
    assert direction(ref, "b", row, (0.15, 0.142, 2)) == "no, within std"
    assert direction(ref, "a", row, (0.15, 0.071, 2)) == "baseline"
    assert direction(ref, "b", None, (0.15, 0.071, 2)) == "-"
    failed = PaperRef({"a": 1.0, "b": "no reasonable results"}, metric="energy_distance", baseline="a")
    assert direction(failed, "b", (0.3, 0.01, 2), (0.15, 0.071, 2)) == "yes"  # text: worse
    assert direction(failed, "b", row, (0.15, 0.071, 2)) == "no"
    higher = PaperRef({"a": 1.0, "b": 2.0}, goal="max", metric="energy_distance", baseline="a")
    assert direction(higher, "b", row, (0.15, 0.071, 2)) == "yes"


def test_markdown_csv_and_unmatched_keys_from_the_command_line(runs, tmp_path):
    root, spec = runs
    md, table = tmp_path / "t.md", tmp_path / "t.csv"
    assert leaderboard.main([str(root), "--paper", str(spec), "--metric", "energy_distance",
                             "--markdown", str(md), "--csv", str(table)]) == 0
    text = md.read_text()
    assert ("| run | kernel | temperatures | status | n | paper FID | direction holds? (energy_distance) "
            "| energy_distance (lower) * |") in text
    assert "| laplace-b-s0 | laplace | (0.5, 2.0) | finished | 1 | 20 | yes | 0.3 |" in text
    assert "paper row 'kernel=cauchy' matches no run of this board" in text
    assert leaderboard.main([str(root), "--paper", str(spec), "--filter", "kernel=gaussian",
                             "--markdown", str(md)]) == 0  # rows a filter leaves out: no note
    assert "matches no run" not in md.read_text().replace("'kernel=cauchy' matches no run", "")
    row = next(r for r in csv.DictReader(table.open()) if r["run"] == "gaussian-a-s{0,1}")
    assert row["paper FID"] == "9" and row["direction holds? (energy_distance)"] == "no"


def test_paper_errors_say_what_to_give(runs, tmp_path, capsys):
    root, spec = runs
    empty = tmp_path / "empty.py"
    empty.write_text("AXES = []\n")
    assert leaderboard.main([str(root), "--paper", str(empty)]) != 0
    assert "declares no PAPER = {row filter: number}" in capsys.readouterr().err
    assert leaderboard.main([str(root), str(root), "--paper"]) != 0
    assert "--paper without a file needs one root" in capsys.readouterr().err
    with pytest.raises(ValueError, match="PAPER_BASELINE 'x' is not a key of PAPER"):
        PaperRef({"a": 1.0}, baseline="x")
    with pytest.raises(ValueError, match="PAPER_GOAL must be one of"):
        PaperRef({"a": 1.0}, goal="lower")
