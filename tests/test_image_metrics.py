"""Image metrics: Frechet distance (closed form, rank-deficient stability), KID, classifier
accuracy and coverage, the evaluator (training, checkpoints), clean-fid with a custom
extractor and the missing-Inception error, image grid / PNG writers and tools/sample.py."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo  # noqa: F401
from zoo.images import save_grid, save_pngs, to_uint8
from zoo.metrics import METRIC_GOAL, evaluate_images, load_evaluator
from zoo.metrics import evaluator as ev
from zoo.metrics import fid as fid_lib
from zoo.metrics.image import (class_coverage, classes_covered, classifier_accuracy,
                               frechet_distance, frechet_from_stats, kid, trace_sqrt_product)
from zoo.registry import build, names

ROOT = Path(__file__).resolve().parent.parent


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian(n, mean, cov, seed):
    chol = torch.linalg.cholesky(torch.as_tensor(cov, dtype=torch.float64))
    z = torch.randn(n, len(mean), generator=gen(seed), dtype=torch.float64)
    return torch.as_tensor(mean, dtype=torch.float64) + z @ chol.T


@pytest.fixture(scope="module")
def digits():
    return build("dataset", "digits")


@pytest.fixture(scope="module")
def tiny_evaluator(digits):
    torch.manual_seed(0)
    model = ev.ImageEvaluator(digits.shape, 10, width=16)
    return ev.fit(model, digits, 60, batch_size=64, lr=5e-3, seed=0)


# ---- Frechet distance ----

def test_registered_and_goals():
    assert {"frechet_distance", "kid", "classifier_accuracy", "class_coverage",
            "classes_covered", "fid"} <= set(names("metric"))
    for key, goal in {"fd": "min", "kid": "min", "fid": "min", "feature_precision": "max",
                      "feature_recall": "max", "class_accuracy": "max",
                      "class_coverage": "max", "classes_covered": "max"}.items():
        assert METRIC_GOAL[key] == goal


def test_fd_identical_sets_is_zero():
    x = torch.randn(500, 6, generator=gen(0))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-10)


def test_fd_closed_form_of_two_gaussians():
    # commuting covariances: tr sqrt(S1 S2) = sum sqrt(a_i b_i) in a shared eigenbasis
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=gen(1), dtype=torch.float64))
    a = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    b = torch.tensor([4.0, 0.5, 0.5, 1.0], dtype=torch.float64)
    s1, s2 = q @ torch.diag(a) @ q.T, q @ torch.diag(b) @ q.T
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor([1.0, 1.0, 0.0, 3.0])
    exact = 5.0 + (a + b - 2 * (a * b).sqrt()).sum().item()
    assert frechet_from_stats(mu1, s1, mu2, s2) == pytest.approx(exact, rel=1e-12)
    # non-commuting 2-D case: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for a 2x2 M with real
    # non-negative eigenvalues
    s1 = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=torch.float64)
    s2 = torch.tensor([[1.0, -0.4], [-0.4, 0.5]], dtype=torch.float64)
    m = s1 @ s2
    tr_sqrt = math.sqrt(m.trace().item() + 2 * math.sqrt(torch.linalg.det(m).item()))
    assert trace_sqrt_product(s1, s2) == pytest.approx(tr_sqrt, rel=1e-12)
    # and from samples: the sample FD converges to the closed form
    x = gaussian(20000, [0.0, 0.0], s1, seed=2)
    y = gaussian(20000, [1.0, 0.0], s2, seed=3)
    exact = 1.0 + s1.trace().item() + s2.trace().item() - 2 * tr_sqrt
    assert frechet_distance(x, y) == pytest.approx(exact, abs=0.03)


def test_fd_rank_deficient_covariances_are_stable():
    # 20 samples in 64 dimensions (rank <= 19), one dead feature, values ~1e3
    base = torch.randn(20, 8, generator=gen(4), dtype=torch.float64)
    lift = torch.randn(8, 64, generator=gen(5), dtype=torch.float64) * 1e3
    x = base @ lift
    x[:, 0] = 0.0
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6 * (x.var(0).sum().item()))
    shift = torch.zeros(64, dtype=torch.float64)
    shift[3] = 7.0
    assert frechet_distance(x, x + shift) == pytest.approx(49.0, rel=1e-6)
    # exact against the eigen-solution of the full-rank surrogate: tr sqrt(S S) = tr S
    s = torch.cov(x.T)
    assert trace_sqrt_product(s, s) == pytest.approx(s.trace().item(), rel=1e-9)
    y = torch.randn(30, 8, generator=gen(6), dtype=torch.float64) @ lift
    value = frechet_distance(x, y)
    assert math.isfinite(value) and value > 0


# ---- KID ----

def test_kid_unbiased_null_and_shift():
    null = [kid(torch.randn(400, 8, generator=gen(2 * s)),
                torch.randn(400, 8, generator=gen(2 * s + 1)),
                subsets=20, subset_size=200, seed=s) for s in range(8)]
    assert all(abs(v) < 0.05 for v in null), null
    assert abs(np.mean(null)) < 0.01 and min(null) < 0, null    # unbiased: centred at 0
    shifted = kid(torch.randn(400, 8, generator=gen(9)),
                  torch.randn(400, 8, generator=gen(10)) + 0.5, subsets=20, subset_size=200)
    assert shifted > 0.5


def test_kid_matches_brute_force_single_subset():
    x, y = torch.randn(50, 5, generator=gen(11)), torch.randn(50, 5, generator=gen(12)) + 0.2
    k = lambda a, b: (a.double() @ b.double().T / 5 + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    ref = ((kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()) / (50 * 49)
           - 2 * kxy.mean()).item()
    assert kid(x, y, subsets=1, subset_size=50) == pytest.approx(ref, rel=1e-10)


# ---- accuracy and coverage ----

def test_accuracy_and_coverage_hand_made():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    pred = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])   # class 0: 3/4, 1: 1/4, 2: 2/2
    assert classifier_accuracy(pred, labels) == pytest.approx(6 / 10)
    assert class_coverage(pred, labels) == pytest.approx(2 / 3)
    assert class_coverage(pred, labels, threshold=0.8) == pytest.approx(1 / 3)
    assert class_coverage(pred, labels, threshold=0.2) == pytest.approx(1.0)
    # unconditional: 10 samples, K = 4, fair share 2.5; counts 0:3, 1:1, 2:6, 3:0
    pred = torch.tensor([0, 0, 0, 1, 2, 2, 2, 2, 2, 2])
    assert classes_covered(pred, 4) == pytest.approx(2 / 4)         # >= 1.25: classes 0, 2
    assert classes_covered(pred, 4, threshold=0.3) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="one per sample"):
        classifier_accuracy(pred, labels[:5])


# ---- the evaluator ----

def test_evaluator_shapes_and_training_improves_accuracy(digits):
    torch.manual_seed(0)
    model = ev.ImageEvaluator(digits.shape, 10, width=16)
    x, labels = ev.test_set(digits)
    assert len(labels) == 359 and model.features(x[:5]).shape == (5, model.feature_dim)
    before = ev.accuracy(model, x, labels)
    ev.fit(model, digits, 40, batch_size=64, lr=5e-3, seed=0)
    after = ev.accuracy(model, x, labels)
    assert before < 0.3 and after > before + 0.3, (before, after)
    shapes_model = ev.ImageEvaluator((3, 32, 32), 6, width=4)
    assert shapes_model(torch.zeros(2, 3 * 32 * 32)).shape == (2, 6)


def test_evaluator_checkpoint_round_trip_and_errors(tmp_path, tiny_evaluator, digits):
    path = tmp_path / "digits.pt"
    ev.save_evaluator(tiny_evaluator, path, {"test_accuracy": 0.5})
    loaded = load_evaluator(path)
    x = digits.held_out(20)
    assert torch.equal(loaded.features(x), tiny_evaluator.features(x))
    assert json.loads(path.with_suffix(".json").read_text())["test_accuracy"] == 0.5
    with pytest.raises(FileNotFoundError, match=r"missing\.pt.*drift-zoo train-evaluator"):
        load_evaluator(tmp_path / "missing.pt")
    with pytest.raises(FileNotFoundError, match="--dataset shapes"):
        load_evaluator(tmp_path / "shapes.pt")
    with pytest.raises(FileNotFoundError, match="--dataset shapes --size 16 --out"):
        load_evaluator(tmp_path / "shapes16.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not an evaluator checkpoint"):
        load_evaluator(tmp_path / "junk.pt")


@pytest.mark.parametrize("dataset,size", [("digits", None), ("shapes", None), ("shapes", 16)])
def test_committed_evaluators_are_accurate(dataset, size):
    ds = build("dataset", dataset, **({} if size is None else {"size": size}))
    path = ev.default_path(getattr(ds, "evaluator", dataset))
    if not path.is_file():
        pytest.skip(f"{path} not built ({ev.make_command(path)})")
    model = load_evaluator(path)
    x, labels = ev.test_set(ds, 300)
    assert ev.accuracy(model, x, labels) >= 0.95
    assert path.stat().st_size < 2**20


def test_evaluate_images(tiny_evaluator, digits):
    data = digits.held_out(200)
    labels = torch.arange(200) % 10
    same = evaluate_images(digits.held_out_class(labels), data, tiny_evaluator, labels,
                           kid_subsets=10, kid_subset_size=100)
    assert set(same) == {"fd", "kid", "feature_precision", "feature_recall", "class_accuracy",
                         "class_coverage"} and set(same) <= set(METRIC_GOAL)
    noise = torch.rand(200, 64, generator=gen(13)) * 2 - 1
    bad = evaluate_images(noise, data, tiny_evaluator, kid_subsets=10, kid_subset_size=100)
    assert "classes_covered" in bad and "class_accuracy" not in bad
    assert bad["fd"] > 5 * same["fd"] and bad["kid"] > same["kid"]
    assert bad["feature_precision"] < same["feature_precision"]
    assert same["class_accuracy"] > 0.5


# ---- clean-fid ----

def _write_digits(directory, x):
    save_pngs(directory, x, (1, 8, 8))
    return torch.from_numpy(to_uint8(x, (1, 8, 8))).permute(0, 3, 1, 2).float() / 127.5 - 1


def test_clean_fid_with_evaluator_extractor_equals_our_fd(tmp_path, tiny_evaluator, digits):
    a = _write_digits(tmp_path / "a", digits.held_out(120))
    b = _write_digits(tmp_path / "b", digits.sample(100, gen(14)))
    value = fid_lib.fid(tmp_path / "a", tmp_path / "b", feature_extractor=tiny_evaluator,
                        device="cpu")
    ours = frechet_distance(tiny_evaluator.features(a), tiny_evaluator.features(b))
    assert value > 0 and value == pytest.approx(ours, rel=1e-4, abs=1e-6)
    same = fid_lib.fid(tmp_path / "a", tmp_path / "a", feature_extractor=tiny_evaluator,
                       device="cpu")
    assert abs(same) < 1e-6 * max(1.0, value)


def test_missing_inception_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_INCEPTION", raising=False)
    with pytest.raises(fid_lib.MissingInceptionError,
                       match=r"inception-2015-12-05\.pt.*ZOO_INCEPTION is unset"):
        fid_lib.inception_path()
    monkeypatch.setenv("ZOO_INCEPTION", str(tmp_path))
    from PIL import Image
    Image.new("RGB", (8, 8)).save(tmp_path / "one.png")  # a folder with an image, no weights
    with pytest.raises(fid_lib.MissingInceptionError, match=str(tmp_path / "inception-2015")):
        fid_lib.fid(tmp_path, tmp_path)
    with pytest.raises(fid_lib.MissingInceptionError, match="inception argument"):
        fid_lib.load_inception(tmp_path / "nope.pt")


def test_no_downloads_and_local_inception_file(tmp_path, monkeypatch):
    import cleanfid.downloads_helper as dh
    import cleanfid.features as feats

    (tmp_path / fid_lib.INCEPTION_FILE).write_bytes(b"")   # present: the real helper won't fetch
    originals = (dh.check_download_inception, feats.build_feature_extractor)
    with fid_lib.no_downloads():
        with pytest.raises(RuntimeError, match="download"):
            dh.check_download_inception(str(tmp_path))
        assert feats.build_feature_extractor is not originals[1]
    assert (dh.check_download_inception, feats.build_feature_extractor) == originals  # restored
    (tmp_path / fid_lib.INCEPTION_FILE).unlink()

    class Layers(torch.nn.Module):          # stand-in with the real file's interface
        def __init__(self):
            super().__init__()
            self.pool = torch.nn.AdaptiveAvgPool2d(2)
            self.proj = torch.nn.Linear(12, 2048)

        def forward(self, x):
            return self.proj(self.pool(x).flatten(1))[:, :, None, None]

    class Fake(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = Layers()

        def forward(self, x):
            return self.layers(x)

    path = tmp_path / fid_lib.INCEPTION_FILE
    torch.jit.script(Fake()).save(str(path))
    monkeypatch.setenv("ZOO_INCEPTION", str(tmp_path))
    model = fid_lib.load_inception()
    out = model(torch.full((2, 3, 299, 299), 128.0))
    assert out.shape == (2, 2048)


# ---- image writers and tools/sample.py ----

def test_grid_and_png_writers(tmp_path, digits):
    shapes = build("dataset", "shapes")
    x = shapes.held_out(7)
    paths = save_pngs(tmp_path / "png", x, shapes.shape)
    names_ = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert len(paths) == 7 and names_[0] == "000000.png" and names_[-1] == "000006.png"
    img = np.asarray(Image.open(paths[3]))
    assert img.shape == (32, 32, 3)
    assert np.abs(img.astype(float) / 127.5 - 1 - x[3].view(3, 32, 32).permute(1, 2, 0).numpy()
                  ).max() <= 0.5 / 127.5 + 1e-6
    assert Image.open(save_pngs(tmp_path / "d", digits.held_out(2), digits.shape)[0]).mode == "L"
    assert save_grid(tmp_path / "g.png", x, shapes.shape, pad=1) == (3, 3)
    assert Image.open(tmp_path / "g.png").size == (3 * 65 + 1, 3 * 65 + 1)  # 32 px scaled by 2
    labels = torch.arange(23) % 10                  # classes 0..2 get 3, the rest 2
    assert save_grid(tmp_path / "c.png", digits.held_out_class(labels), digits.shape,
                     labels=labels) == (10, 3)
    grid = np.asarray(Image.open(tmp_path / "c.png"))   # 8x8 scaled by 8, 1-pixel pad
    strip = grid.shape[1] - (3 * 65 + 1)                # the row labels on the left
    assert grid.shape[0] == 10 * 65 + 1 and strip > 0
    cell = grid[1 + 3 * 65:1 + 3 * 65 + 64, strip + 1 + 2 * 65:strip + 1 + 2 * 65 + 64]
    assert (cell == 255).all()  # class 3 has 2 samples: its third cell is empty
    with pytest.raises(ValueError, match="rows of 3072"):
        save_pngs(tmp_path / "bad", torch.zeros(2, 64), shapes.shape)


class FakeImageModel(torch.nn.Module):
    """Stands in for a trained image generator: returns held-out images of the asked class."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset, self.num_classes = dataset, dataset.num_classes

    def noise(self, n, g):
        return torch.randn(n, 1, generator=g)

    def forward(self, z, labels):
        return self.dataset.held_out_class(labels)


def test_sample_tool_writes_grid_and_pngs(tmp_path, monkeypatch, digits):
    import zoo.run.sampling

    spec = importlib.util.spec_from_file_location("tool_sample", ROOT / "tools" / "sample.py")
    sample_tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sample_tool)

    monkeypatch.setattr(zoo.run.sampling, "restore", lambda w, use_ema=True: (
        FakeImageModel(digits), digits, None))
    rc = sample_tool.main(["--workdir", "x", "--num", "30", "--grid", str(tmp_path / "g.png"),
                           "--png_dir", str(tmp_path / "p"), "--out", str(tmp_path / "s.npy")])
    assert rc == 0
    assert len(list((tmp_path / "p").glob("*.png"))) == 30
    width, height = Image.open(tmp_path / "g.png").size  # 64 px cells, a row-label strip
    assert height == 10 * 65 + 1 and width > 3 * 65 + 1
    assert np.load(tmp_path / "s.npy").shape == (30, 64)
    toy = build("dataset", "checkerboard")
    monkeypatch.setattr(zoo.run.sampling, "restore", lambda w, use_ema=True: (None, toy, None))
    assert sample_tool.main(["--workdir", "x", "--grid", str(tmp_path / "t.png")]) == 2
    assert not (tmp_path / "t.png").exists()


def test_fid_on_an_empty_folder_is_a_clear_error(tmp_path):
    from zoo.metrics.fid import fid

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        fid(tmp_path / "a", tmp_path / "b")


def test_sample_grid_rows_carry_the_dataset_class_names(tmp_path, monkeypatch):
    import zoo.run.sampling
    from zoo.cli import sample as sample_cmd
    from zoo.images import grid
    from zoo.run.sampling import eval_labels, sample

    shapes = build("dataset", "shapes")
    model = FakeImageModel(shapes)
    monkeypatch.setattr(zoo.run.sampling, "restore", lambda w, use_ema=True: (model, shapes, None))
    assert sample_cmd.main(["--workdir", "x", "--num", "12", "--grid", str(tmp_path / "g.png")]) == 0
    labels = eval_labels(model, 12)
    named = grid(sample(model, 12, 0), shapes.shape, labels=labels, names=shapes.class_names)[0]
    indexed = grid(sample(model, 12, 0), shapes.shape, labels=labels)[0]
    written = np.asarray(Image.open(tmp_path / "g.png"))
    assert written.shape == named.shape and np.array_equal(written, named)
    assert not np.array_equal(named, indexed) or named.shape != indexed.shape
