"""The field-or-generator probe (zoo/probe.py, tools/probe_field.py)."""
import subprocess
import sys
from pathlib import Path

import torch

from zoo import data, fields, kernels
from zoo.probe import probe

ROOT = Path(__file__).resolve().parent.parent
KW = dict(field=fields.split, kernel=kernels.laplace, temperatures=(0.03,), scaling="none",
          combine="per_temperature")


def test_split_field_resolves_the_grid_from_a_haze():
    """The README claim: on a uniform haze over the 5x5 grid the split field points to the
    nearest mode, and moving the haze as free particles along it covers all 25 modes."""
    grid = data.toy2d.grid_gaussians()
    haze = (torch.rand(2048, 2, generator=torch.Generator().manual_seed(0)) - 0.5) * 2.6
    out = probe(haze, grid, steps=40, eval_num=2048, **KW)
    assert out["samples"]["off_mode"] > 0.8 and out["samples"]["high_quality"] < 0.2
    assert out["samples"]["to_mode"] > 0.8 and out["samples"]["agreement"] > 0.9
    assert out["particles"]["modes_covered"] == 25
    assert out["particles"]["high_quality"] > 0.8


def test_probe_tool_on_a_run(tmp_path):
    wd = tmp_path / "run"
    py = sys.executable
    subprocess.run([py, "tools/train.py", "--gin_file", "gin/debug.gin", "--workdir", str(wd),
                    "--no_progress"], cwd=ROOT, check=True, capture_output=True)
    r = subprocess.run([py, "tools/probe_field.py", "--workdir", str(wd), "--num", "256",
                        "--steps", "3"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "to_mode" in r.stdout and (wd / "probe.png").stat().st_size > 0
    bad = subprocess.run([py, "tools/probe_field.py", "--workdir", str(tmp_path / "nope")],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "error:" in bad.stderr
