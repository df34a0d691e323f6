"""``knn`` positives (zoo/positives/knn.py, knn_bank.py) and ``drift-zoo make-bank``: the
group's positives are the union of its samples' nearest bank rows, keys are a fixed function of
one sample, a knn run trains, improves and resumes bit-exactly, and a wrong bank is refused."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import zoo
from zoo.cli import main as drift_zoo
from zoo.cli.make_bank import make_bank
from zoo.positives.knn import knn
from zoo.positives.knn_bank import KeyMap, nearest_union, read_manifest
from zoo.run.batches import Batch

DIGITS = ["--gin_file", "gin/experiments/digits.gin", "--gin_param", "train.encoder = @identity()"]
SHORT = ["--gin_param", "train.steps = 40", "--gin_param", "train.batch_size = 160",
         "--gin_param", "train.data_batch_size = 160", "--gin_param", "train.eval_every = 20",
         "--gin_param", "train.eval_samples = 359", "--gin_param", "train.checkpoint_every = 20",
         "--no_progress"]


def knn_params(bank) -> list[str]:
    return ["--gin_param", "train.positives = @knn()", "--gin_param", f"knn.path = '{bank}'"]


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank") / "digits"
    assert drift_zoo(["make-bank", *DIGITS, "--out", str(out), "--per-class", "300",
                      "--quiet"]) == 0
    return out


def test_nearest_union_takes_neighbours_rank_by_rank():
    idx = torch.tensor([[5, 1, 7], [5, 2, 9], [3, -1, 4]])  # 3 queries, nearest first
    assert nearest_union(idx, 10).tolist() == [5, 3, 1, 2, 7, 9, 4]  # ranks 1, 2, 3; 5 once
    assert nearest_union(idx, 3).tolist() == [5, 3, 1]
    assert len(nearest_union(torch.full((2, 2), -1), 4)) == 0


def test_bank_files_and_keys(bank):
    m = read_manifest(bank)
    # digits holds ~120 training images per class: the bank keeps each once, then runs dry
    assert m["classes"] == 10 and m["dim"] == 64 and 100 < min(m["counts"]) <= max(m["counts"]) < 300
    assert m["rows_dtype"] == "float16" and m["key"]["encoder"] == "identity"
    rows = np.load(bank / "rows_3.npy")
    keys = np.load(bank / "keys_3.npy")
    n = m["counts"][3]
    assert rows.shape == (n, 64) and keys.shape == (n, m["key"]["key_dim"])
    assert len(np.unique(rows, axis=0)) == n  # every row once
    # the stored keys are the key map of the stored rows (a fixed function of one sample)
    keymap = KeyMap.from_dict(m["key"], zoo.build("encoder", "identity"), (1, 8, 8))
    again = keymap(torch.from_numpy(rows[:20].astype(np.float32)))
    assert torch.allclose(again, torch.from_numpy(keys[:20]), atol=2e-3)


def test_positives_are_the_nearest_bank_rows(bank):
    ds = zoo.build("dataset", "digits")
    src = knn(str(bank))
    src.reset(ds)
    g = torch.Generator().manual_seed(0)
    classes = torch.tensor([2, 7])
    pos, uncond = src.draw(ds, classes, 8, 0, g)
    assert pos.shape == (2, 0, 64) and uncond is None
    x = ds.sample_class(classes.repeat_interleave(1), g).view(2, 1, 64)  # one sample per group
    batch = Batch(torch.zeros(2, 4), pos, classes)
    out = src.select(batch, x, zoo.build("encoder", "identity")).pos
    assert out.shape == (2, 8, 64)
    for i, c in enumerate(classes.tolist()):  # 1 query: its 8 nearest in key space, exactly
        keys = torch.from_numpy(np.load(bank / f"keys_{c}.npy"))
        rows = torch.from_numpy(np.load(bank / f"rows_{c}.npy").astype(np.float32))
        q = src.keys(x[i])
        want = rows[(keys - q).pow(2).sum(1).argsort()[:8].sort().values]
        assert torch.equal(out[i], want)
    with pytest.raises(ValueError, match="fewer than the 500 positives"):
        src.draw(ds, classes, 500, 0, g)
        src.select(batch, x, zoo.build("encoder", "identity"))


def test_knn_run_trains_and_improves(bank, tmp_path):
    wd = tmp_path / "run"
    assert drift_zoo(["train", *DIGITS, *SHORT, *knn_params(bank), "--workdir", str(wd)]) == 0
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["positives"] == "knn"
    evals = [json.loads(line)["energy_distance"] for line in
             (wd / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert len(evals) == 2 and evals[-1] < 0.8 * evals[0], evals


def test_knn_run_sigkill_and_resume_is_bit_identical(bank, tmp_path, monkeypatch):
    """SIGKILLed after a checkpoint and resumed, a knn run ends bit-identical to the
    uninterrupted one (tests/killer.py); its checkpoint names the bank, and resuming with
    another bank is refused."""
    from tests.test_train import kill_and_resume

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    args = [*DIGITS, *knn_params(bank)] + [
        arg for p in ["train.steps = 24", "train.checkpoint_every = 7", "train.log_every = 1",
                      "train.eval_every = 0", "train.eval_samples = 100", "train.batch_size = 40",
                      "train.data_batch_size = 40"] for arg in ("--gin_param", p)] + ["--no_progress"]
    a, b, killed_at = kill_and_resume(args, tmp_path, 24)
    assert killed_at == 21 and a["positives"] == b["positives"] == {"bank": knn_identity(bank)}
    other = tmp_path / "other"
    other.mkdir()
    for f in bank.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    m = read_manifest(other)
    (other / "manifest.json").write_text(json.dumps({**m, "seed": 99}))
    src = knn(str(other))
    src.reset(zoo.build("dataset", "digits"))
    with pytest.raises(ValueError, match="trained with another positive bank"):
        src.load_state_dict(a["positives"])


def knn_identity(bank) -> str:
    src = knn(str(bank))
    src.manifest = read_manifest(bank)
    return src.identity


def test_make_bank_errors(bank, tmp_path, capsys):
    assert drift_zoo(["make-bank", *DIGITS, "--out", str(bank), "--quiet"]) == 2
    assert "already holds a bank" in capsys.readouterr().err
    assert drift_zoo(["make-bank", "--out", str(tmp_path / "b"), "--quiet"]) == 2
    assert "give the run's --gin_file" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="drift-zoo make-bank"):
        knn(str(tmp_path / "nothing")).reset(zoo.build("dataset", "digits"))
    with pytest.raises(FileNotFoundError, match="no bank folder bound"):
        knn()


def test_knn_refuses_a_bank_of_another_encoder_or_dataset(bank, tmp_path):
    src = knn(str(bank))
    with pytest.raises(ValueError, match="holds 10 classes of 64-dim rows"):
        src.reset(zoo.build("dataset", "shapes", size=8))
    src.reset(zoo.build("dataset", "digits"))
    x = torch.zeros(1, 2, 64)
    batch = Batch(torch.zeros(2, 4), torch.empty(1, 0, 64), torch.tensor([0, 0]))
    src.p = 4
    with pytest.raises(ValueError, match="keys were made with encoder identity"):
        src.select(batch, x, zoo.build("encoder", "random_conv", in_channels=1))
