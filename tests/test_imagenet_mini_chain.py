"""``make imagenet-mini`` end to end at seconds size: the README's ImageNet chain (tree -> shards
-> conv_ae -> latent shards -> MAE on pixels and on latents -> knn bank -> a pixel DiT, a pixel
DiT with knn positives and a latent DiT, CFG on -> decoded PNGs -> FD recorded -> leaderboard),
run through the Makefile itself with its size knobs turned down."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
KNOBS = ["PER_CLASS=6", "VAL_PER_CLASS=4", "AE_STEPS=2", "MAE_STEPS=2", "BANK_PER_CLASS=20",
         "SAMPLES=12", "STEPS=2"]


def make(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run(["make", "--no-print-directory", *args, f"MINI={tmp / 'mini'}",
                           f"MRUN={tmp / 'runs'}", f"ZOO={sys.executable} -m zoo.cli", "ZOO_DEP=",
                           *KNOBS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_imagenet_mini_runs_the_whole_chain(tmp_path):
    r = make(tmp_path, "imagenet-mini")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = tmp_path / "runs"
    for name, positives in (("pixel", "fresh"), ("pixel_knn", "knn"), ("latent", "fresh")):
        summary = json.loads((runs / name / "summary.json").read_text())
        assert summary["status"] == "finished" and summary["positives"] == positives, name
        assert summary["negatives"] == "cfg" and summary["generator"] == "dit_tiny"
        metrics = summary["final_metrics"]
        assert np.isfinite(metrics["png_fd"]) and np.isfinite(metrics["fd"]), name
        assert "class_accuracy" in metrics  # scored by the committed shapes evaluator
        pngs = sorted((runs / name / "png").rglob("*.png"))
        assert len(pngs) == 12
        with Image.open(pngs[0]) as im:  # latents decoded by conv_ae to 64x64 RGB images
            assert im.mode == "RGB" and im.size == ((64, 64) if name == "latent" else (32, 32))
    board = (runs / "leaderboard.md").read_text()
    assert all(f"| {name} |" in board for name in ("pixel", "pixel_knn", "latent"))
    assert "png_fd" in board
    # every step is a file target: a second make only prints the leaderboard again
    again = make(tmp_path, "-n", "imagenet-mini").stdout.strip().splitlines()
    assert len(again) == 1 and "leaderboard" in again[0], again
