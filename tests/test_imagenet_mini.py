"""The miniature ImageNet (``drift-zoo make-imagenet-mini``): tree layout, counts, decodable and
deterministic JPEGs, make-shards reading it; FID over its class-per-folder trees (offline, in
the committed shapes evaluator's features)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.cli import main as drift_zoo
from zoo.cli.make_imagenet_mini import make_imagenet_mini, wnid
from zoo.cli.make_shards import make_shards
from zoo.data.shapes import SHAPES

ROOT = Path(__file__).resolve().parent.parent
TRAIN, VAL, SIZE = 4, 3, 32


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mini") / "imagenet"
    assert drift_zoo(["make-imagenet-mini", "--out", str(out), "--size", str(SIZE),
                      "--train-per-class", str(TRAIN), "--val-per-class", str(VAL),
                      "--quiet"]) == 0
    return out


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_tree_has_the_imagenet_layout(tree):
    wnids = [wnid(c) for c in range(len(SHAPES))]
    assert wnids[:2] == ["n00000000", "n00000001"]
    assert sorted(p.name for p in (tree / "train").iterdir()) == wnids
    assert sorted(p.name for p in (tree / "val").iterdir()) == wnids
    for w in wnids:
        train = sorted(p.name for p in (tree / "train" / w).iterdir())
        assert train == [f"{w}_{i}.JPEG" for i in range(TRAIN)]
        assert len(list((tree / "val" / w).glob("ILSVRC2012_val_*.JPEG"))) == VAL
    vals = sorted(p.name for p in (tree / "val").rglob("*.JPEG"))
    assert vals == [f"ILSVRC2012_val_{j:08d}.JPEG" for j in range(1, 6 * VAL + 1)]
    lines = (tree / "synsets.txt").read_text().splitlines()
    assert lines == [f"{w} {name}" for w, name in zip(wnids, SHAPES)]


def test_jpegs_decode_to_rgb_of_the_size(tree, tmp_path):
    small = make_imagenet_mini(tmp_path / "s", size=16, train_per_class=1, val_per_class=1,
                               progress=False)
    assert small["size"] == 16
    with Image.open(next((tmp_path / "s" / "train").rglob("*.JPEG"))) as im:
        assert im.size == (16, 16)
    for p in list((tree / "train").rglob("*.JPEG"))[:5] + list((tree / "val").rglob("*.JPEG"))[:5]:
        with Image.open(p) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (SIZE, SIZE))
            assert np.asarray(im).std() > 5  # a drawn shape, not a blank canvas


def test_same_seed_same_bytes_other_seed_other_images(tree, tmp_path):
    again = make_imagenet_mini(tmp_path / "a", size=SIZE, train_per_class=TRAIN,
                               val_per_class=VAL, progress=False)
    assert again == {"classes": 6, "train": 6 * TRAIN, "val": 6 * VAL, "size": SIZE,
                     "dataset": "shapes"}
    assert digest(tmp_path / "a") == digest(tree)
    make_imagenet_mini(tmp_path / "b", size=SIZE, train_per_class=TRAIN, val_per_class=VAL,
                       seed=1, progress=False)
    other = digest(tmp_path / "b")
    assert set(other) == set(digest(tree)) and other != digest(tree)


def test_errors_say_what_to_change(tree, tmp_path, capsys):
    with pytest.raises(ValueError, match="already holds train/ or val/"):
        make_imagenet_mini(tree, size=SIZE, progress=False)
    with pytest.raises(ValueError, match="not a class-conditional image dataset"):
        make_imagenet_mini(tmp_path / "x", dataset="checkerboard", progress=False)
    assert drift_zoo(["make-imagenet-mini", "--out", str(tmp_path / "y"),
                      "--train-per-class", "0", "--quiet"]) == 2
    assert "--train-per-class and --val-per-class must be >= 1" in capsys.readouterr().err


def test_make_shards_reads_the_tree(tree, tmp_path):
    from zoo.data.shards import WebLoader

    m = make_shards(tree / "train", tmp_path / "shards", size=16, center_crop=True,
                    max_per_shard=10, progress=False)
    assert m["classes"] == [wnid(c) for c in range(6)] and m["total"] == 6 * TRAIN
    assert m["counts"] == {wnid(c): TRAIN for c in range(6)} and m["skipped"] == []
    loader = WebLoader(str(tmp_path / "shards"), size=16, batch_size=64, num_workers=0,
                       device="cpu", shuffle=False, epochs=1, random_crop=False, flip=False)
    x, y = next(iter(loader))
    assert x.shape == (6 * TRAIN, 3, 16, 16) and sorted(y.tolist()) == sorted(
        list(range(6)) * TRAIN)


# ----------------------------------------------------------------------------- FID on trees

def folder_images(root: Path) -> torch.Tensor:
    """Every image under ``root`` (any depth) as [N, 3, H, W] in [-1, 1]."""
    files = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in (".png", ".jpeg", ".jpg")]
    px = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files])
    return torch.from_numpy(px).permute(0, 3, 1, 2).float() / 127.5 - 1


def test_fid_reads_class_per_folder_trees(tree, tmp_path):
    """A JPEG tree (val/<wnid>/*.JPEG) against a PNG tree (<class>/*.png): clean-fid's value
    equals the FD of the evaluator's features of every file, read recursively."""
    from zoo.data.shapes import shapes
    from zoo.images import save_pngs
    from zoo.metrics.evaluator import load_evaluator
    from zoo.metrics.fid import fid, image_count
    from zoo.metrics.image import frechet_distance

    ds = shapes(size=SIZE)
    for c in range(6):
        x = ds.sample_class(torch.full((5,), c), torch.Generator().manual_seed(100 + c))
        save_pngs(tmp_path / "png" / SHAPES[c], x, ds.shape)
    assert image_count(tree / "val") == 6 * VAL and image_count(tmp_path / "png") == 30
    evaluator = load_evaluator(ROOT / "results" / "evaluators" / "shapes.pt")
    value = fid(tree / "val", tmp_path / "png", feature_extractor=evaluator, device="cpu")
    with torch.no_grad():
        ours = frechet_distance(evaluator.features(folder_images(tree / "val")),
                                evaluator.features(folder_images(tmp_path / "png")))
    assert np.isfinite(value) and value > 0
    assert value == pytest.approx(float(ours), rel=1e-3, abs=1e-5)
    (tmp_path / "empty" / "n00000000").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no images .* at any depth"):
        fid(tmp_path / "empty", tmp_path / "png", feature_extractor=evaluator, device="cpu")


def test_fid_record_writes_the_value_into_the_run(tree, tmp_path, capsys):
    """``drift-zoo fid A B --evaluator E --record RUN`` prints the FD and stores it as the
    run's ``png_fd`` beside its other final metrics; a folder that is no run is refused."""
    import json

    from zoo.run.folder import Run

    (tmp_path / "run").mkdir()
    run = Run(tmp_path / "run")
    run.save_checkpoint({"step": 1})
    run.update_summary(status="finished", final_metrics={"fd": 3.0})
    evaluator = str(ROOT / "results" / "evaluators" / "shapes.pt")
    val = str(tree / "val")
    assert drift_zoo(["fid", val, str(tree / "train"), "--evaluator", evaluator,
                      "--record", str(run.path)]) == 0
    printed = float(capsys.readouterr().out.split()[-1])
    metrics = json.loads(run.file("summary.json").read_text())["final_metrics"]
    assert metrics["fd"] == 3.0 and metrics["png_fd"] == pytest.approx(printed, rel=1e-5)
    assert drift_zoo(["fid", val, val, "--evaluator", evaluator,
                      "--record", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
