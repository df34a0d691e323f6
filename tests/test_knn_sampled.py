"""``knn_sampled`` positives (zoo/positives/knn_sampled.py): knn on a bank drawn from the
dataset at the start, keyed with the run's encoder on the first step; no make-bank."""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo.positives.knn_sampled import knn_sampled
from zoo.run.batches import Batch


def test_bank_is_drawn_per_class_distinct_and_seeded():
    ds = zoo.build("dataset", "digits")
    src = knn_sampled(per_class=500)
    src.reset(ds)
    counts = src.manifest["counts"]
    # digits hold ~144 training images per class: drawn with replacement, kept once each
    assert len(counts) == 10 and 100 < min(counts) <= max(counts) < 500
    assert all(len(torch.unique(torch.from_numpy(r), dim=0)) == len(r) for r in src.rows)
    other = knn_sampled(per_class=500)
    other.reset(ds)
    assert other.identity == src.identity
    third = knn_sampled(per_class=500, seed=1)
    third.reset(ds)
    assert third.identity != src.identity


def test_each_sample_gets_its_own_nearest_bank_row():
    """x = bank rows (plus a little noise): the group's positives are those very rows."""
    ds = zoo.build("dataset", "shapes", size=8 * 4)
    src = knn_sampled(per_class=50)
    src.reset(ds)
    enc = zoo.build("encoder", "identity")
    picked = torch.stack([torch.from_numpy(src.rows[c][[3, 7]]).float() for c in (1, 4)])  # [2, 2, D]
    x = picked + 1e-3 * torch.randn_like(picked)
    g = torch.Generator().manual_seed(0)
    pos, _ = src.draw(ds, torch.tensor([1, 4]), 2, 0, g)
    assert pos.shape == (2, 0, ds.dim)  # filled after the generator ran
    batch = Batch(torch.zeros(4, 8), pos, torch.tensor([1, 1, 4, 4]))
    out = src.select(batch, x, enc)
    assert out.pos.shape == (2, 2, ds.dim)
    for group in range(2):
        got = {tuple(r.tolist()) for r in out.pos[group]}
        assert got == {tuple(r.tolist()) for r in picked[group]}


def test_unconditional_dataset_is_refused():
    with pytest.raises(ValueError, match="not class-conditional; use knn with a bank"):
        knn_sampled().reset(zoo.build("dataset", "digits", conditional=False))
