"""The data-vs-data floor (zoo/metrics/floor.py, drift-zoo floor): real draws measured as samples."""
import json

import torch

import zoo
from zoo.cli import main
from zoo.metrics.floor import data_floor, distinct, real_draw
from zoo.run.evaluation import measure


def test_distinct_keeps_first_occurrences_in_order():
    rows = torch.tensor([[1.0], [2.0], [1.0], [3.0], [2.0]])
    kept, labels = distinct(rows, torch.arange(5))
    assert kept.flatten().tolist() == [1.0, 2.0, 3.0] and labels.tolist() == [0, 1, 3]


def test_real_draw_is_balanced_seeded_and_distinct():
    ds = zoo.build("dataset", "digits")
    rows, labels = real_draw(ds, 4096, 0)
    assert len(rows) == len(torch.unique(rows, dim=0)) <= len(ds._train)  # repeats dropped
    again, _ = real_draw(ds, 4096, 0)
    assert torch.equal(rows, again) and not torch.equal(rows, real_draw(ds, 4096, 1)[0])
    assert set(labels.tolist()) == set(range(10))


def test_shapes_floor_is_far_below_noise():
    """Real shapes against held-out shapes: near-perfect accuracy, an FD that noise of the same
    size does not come near (the floor is the scale an FD is read against)."""
    ds = zoo.build("dataset", "shapes")
    floor = data_floor(ds, 120, seeds=(0, 1))
    assert floor["class_accuracy"][0] > 0.9 and floor["rows"] == (120.0, 0.0)
    noise = torch.rand(120, ds.dim) * 2 - 1
    fd_noise = measure(ds, noise, ds.held_out(120), torch.arange(120) % 6)["fd"]
    assert floor["fd"][0] < 0.05 * fd_noise, (floor["fd"], fd_noise)


def test_floor_command_writes_json(tmp_path, capsys):
    out = tmp_path / "floor.json"
    assert main(["floor", "--gin_file", "gin/experiments/shapes.gin", "--num", "60",
                 "--seeds", "0", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["n"] == 60 and saved["seeds"] == [0] and "fd" in saved["floor"]
    assert "data-vs-data floor: shapes" in capsys.readouterr().out


def test_floor_command_without_eval_samples_names_the_flag(capsys):
    assert main(["floor", "--gin_file", "gin/experiments/toy.gin", "--seeds", "0",
                 "--gin_param", "train.eval_samples = 0"]) == 2
    assert "pass --num" in capsys.readouterr().err
