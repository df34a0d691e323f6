"""Ball ratio of k-NN precision misses (zoo/metrics/misses.py) and tools/strays.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo.metrics.point_cloud as pc
from zoo.metrics import ball_ratio, miss_shares, precision_recall

ROOT = Path(__file__).resolve().parent.parent


def test_hand_built_ratios():
    col = lambda *v: torch.tensor(v).reshape(-1, 1)  # noqa: E731
    y = col(0.0, 1.0, 3.0, 6.0)            # k=1 radii: 1, 1, 2, 3
    x = col(4.5, -1.5, 1.0, 12.0)          # ratios: 1.5/3 = 0.5, 1.5/1, 0, 6/3
    assert ball_ratio(x, y, k=1).tolist() == pytest.approx([0.5, 1.5, 0.0, 2.0])
    assert miss_shares(ball_ratio(x, y, k=1), stray=1.6) == {"miss": 0.5, "stray": 0.25}


@pytest.mark.parametrize("k", [1, 3, 5])
def test_hits_are_exactly_precision(monkeypatch, k):
    """rho <= 1 is precision's hit test, also across ragged streamed blocks."""
    monkeypatch.setattr(pc, "BLOCK_BYTES", 8 * 53)
    gen = torch.Generator().manual_seed(k)
    y = torch.randn(300, 3, generator=gen)
    x = 1.4 * torch.randn(250, 3, generator=gen) + 0.3
    share = (ball_ratio(x, y, k) <= 1).double().mean().item()
    assert share == precision_recall(x, y, k)["precision"]
    assert 0.2 < share < 0.95                      # neither trivially 0 nor 1


def test_strays_grow_with_a_shift_and_data_has_few():
    gen = torch.Generator().manual_seed(0)
    y, fresh = torch.randn(2000, 2, generator=gen), torch.randn(2000, 2, generator=gen)
    own = miss_shares(ball_ratio(fresh, y))
    moved = miss_shares(ball_ratio(fresh + torch.tensor([6.0, 0.0]), y))  # mostly off the data
    assert own["stray"] < 0.01 and own["miss"] < 0.05
    assert moved["stray"] > 0.5 and moved["miss"] > moved["stray"]


def test_bad_input():
    y = torch.randn(4, 2)
    with pytest.raises(ValueError, match="k >= 1"):
        ball_ratio(y, y, k=0)
    with pytest.raises(ValueError):                # k must leave a neighbour: M > k
        ball_ratio(y, y, k=4)
    with pytest.raises(ValueError):
        ball_ratio(torch.randn(3, 2), torch.randn(5, 3))


def test_strays_tool_on_a_run(tmp_path):
    wd, py = tmp_path / "run", sys.executable
    subprocess.run([py, "tools/train.py", "--gin_file", "gin/debug.gin", "--workdir", str(wd),
                    "--no_progress"], cwd=ROOT, check=True, capture_output=True)
    r = subprocess.run([py, "tools/strays.py", "--workdir", str(wd), "--num", "300"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "stray" in r.stdout and "fresh draws" in r.stdout
    assert (wd / "strays.png").stat().st_size > 0
    bad = subprocess.run([py, "tools/strays.py", "--workdir", str(tmp_path / "nope")],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "error:" in bad.stderr
