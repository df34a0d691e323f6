"""Autoencoders and latent runs: ``conv_ae`` (shapes, the missing-weights message, a short
``drift-zoo train-autoencoder`` that reconstructs held-out shapes), latent shards that know their
autoencoder (make-shards records it, webdataset rebuilds it), and latent runs through the trainer
(``space_to_depth`` and ``conv_ae``) that end ``finished`` with decoded pictures and PNGs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo  # noqa: F401  (registers everything)
from zoo.autoencoders.conv_ae import ConvAENet, save_conv_ae
from zoo.autoencoders.decoded import decoded
from zoo.cli import make_shards as ms
from zoo.registry import build
from tests.test_dist import write_shapes_folder

ROOT = Path(__file__).resolve().parent.parent
SIZE = 32


@pytest.fixture(scope="module")
def untrained(tmp_path_factory) -> Path:
    """conv_ae weights of an untrained width-4 net (scale 2): enough for shapes and plumbing."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ae") / "conv_ae.pt"
    save_conv_ae(ConvAENet(4), 2.0, path, {"note": "untrained"})
    return path


def test_conv_ae_shapes_and_scale(untrained):
    ae = build("autoencoder", "conv_ae", path=str(untrained))
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    z = ae.encode(x)
    assert z.shape == (2, 4, 8, 6) and ae.latent_shape((3, 64, 48)) == (4, 8, 6)
    assert ae.decode(z).shape == (2, 3, 64, 48)
    torch.testing.assert_close(z, ae.net.encoder(x) * 2.0)  # the stored scale
    assert ae.args() == {"path": os.path.abspath(untrained)}
    assert not any(p.requires_grad for p in ae.parameters())
    with pytest.raises(ValueError, match="divisible by 8"):
        ae.encode(torch.zeros(1, 3, 20, 16))


def test_conv_ae_missing_weights_says_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no weights at path=.*nope\.pt.*Train them with "
                                                r"`drift-zoo train-autoencoder --dataset shapes"):
        build("autoencoder", "conv_ae", path=str(tmp_path / "nope.pt"))


@pytest.mark.slow
def test_train_autoencoder_reconstructs_held_out_shapes(tmp_path):
    """A short training on 64x64 shapes (300 steps of 8): held-out MSE (in [-1, 1]) under 0.075
    -- well below painting each image its mean colour (0.100) or its background (0.122), so the
    shapes come through the 4 x 8 x 8 latent -- and 4x below the untrained net's; the weights
    reload to the same error through encode / decode; latents ~unit scale. (The default recipe,
    1500 steps of 16 at width 16, reaches 0.018: README.)"""
    from zoo.cli.train_autoencoder import main, reconstruction_error
    out = tmp_path / "ae.pt"
    assert main(["--dataset", "shapes", "--size", "64", "--steps", "300", "--batch", "8",
                 "--width", "16", "--lr", "2e-3", "--eval_batch", "32", "--out", str(out),
                 "--quiet"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["eval_mse"] < 0.075 and meta["eval_mse"] < 0.25 * meta["eval_mse_before"]
    assert meta["eval_psnr"] > 10 * np.log10(4 / 0.075)
    ae = build("autoencoder", "conv_ae", path=str(out))
    held = build("dataset", "shapes", size=64).held_out(32).view(-1, 3, 64, 64)
    assert reconstruction_error(ae.net, held)[0] == pytest.approx(meta["eval_mse"], rel=1e-4)
    round_trip = ae.decode(ae.encode(held)).clamp(-1, 1)
    assert float((round_trip - held).pow(2).mean()) == pytest.approx(meta["eval_mse"], rel=1e-4)
    assert 0.7 < float(ae.encode(held).std()) < 1.4


def test_train_autoencoder_refuses_non_image_data(tmp_path, capsys):
    from zoo.cli.train_autoencoder import main
    assert main(["--dataset", "moons", "--out", str(tmp_path / "x.pt"), "--quiet"]) == 2
    assert "is not an image dataset" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


# ----------------------------------------------------------------------------- latent shards

@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    return write_shapes_folder(tmp_path_factory.mktemp("latent") / "images", per_class=8,
                               size=SIZE)


def shards(images: Path, out: Path, latents: str, path=None) -> Path:
    for part, per_shard in (("train", 12), ("val", 24)):
        ms.make_shards(str(images), str(out / part), size=SIZE, center_crop=True,
                       max_per_shard=per_shard, latents=latents, latents_path=path,
                       progress=False)
    return out


def test_latent_shards_know_their_autoencoder(images, untrained, tmp_path):
    out = shards(images, tmp_path, "conv_ae", str(untrained))
    manifest = json.loads((out / "train" / "manifest.json").read_text())
    assert manifest["latents"] == {"autoencoder": "conv_ae",
                                   "args": {"path": os.path.abspath(untrained)},
                                   "shape": [4, 4, 4], "dtype": "float32"}
    assert "--latents-path" in manifest["command"]
    ds = build("dataset", "webdataset", urls=str(out / "train"), val_urls=str(out / "val"),
               field="npy", num_workers=0, device="cpu", batch_size=8, per_class=4,
               global_size=16)
    assert ds.autoencoder.args() == {"path": os.path.abspath(untrained)}
    rows = ds.held_out(5)
    images_, shape = decoded(ds, rows)
    assert rows.shape == (5, 64) and images_.shape == (5, 3 * SIZE * SIZE)
    assert shape == (3, SIZE, SIZE)
    torch.testing.assert_close(images_, ds.autoencoder.decode(rows.view(5, 4, 4, 4)).flatten(1))
    ds.close()
    pixels = build("dataset", "webdataset", urls=str(out / "train"), num_workers=0, device="cpu")
    assert pixels.autoencoder is None and decoded(pixels, rows)[0] is rows


def test_train_autoencoder_from_shards(images, tmp_path):
    from zoo.cli.train_autoencoder import main
    out = shards(images, tmp_path / "shards", "space_to_depth")
    weights = tmp_path / "ae.pt"
    assert main(["--shards", str(out / "train"), "--val", str(out / "val"), "--steps", "2",
                 "--width", "4", "--eval_batch", "8", "--out", str(weights), "--quiet"]) == 0
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["source"] == str(out / "train") and meta["shape"] == [3, SIZE, SIZE]
    assert meta["latent_shape"] == [4, 4, 4] and meta["eval_images"] == 8
    assert build("autoencoder", "conv_ae", path=str(weights)).scale == meta["scale"]


def test_a_latent_manifest_whose_autoencoder_is_gone_says_how_to_bind_it(images, tmp_path):
    out = shards(images, tmp_path, "space_to_depth")
    for part in ("train", "val"):
        path = out / part / "manifest.json"
        manifest = json.loads(path.read_text())
        manifest["latents"].update(autoencoder="conv_ae", args={"path": str(tmp_path / "gone.pt")})
        path.write_text(json.dumps(manifest))
    with pytest.raises(FileNotFoundError, match=r"(?s)made by autoencoder 'conv_ae'.*Bind "
                                                r"webdataset.autoencoder = @conv_ae\(\)"):
        build("dataset", "webdataset", urls=str(out / "train"), field="npy", num_workers=0)
    ds = build("dataset", "webdataset", urls=str(out / "train"), field="npy", num_workers=0,
               autoencoder=build("autoencoder", "space_to_depth"))  # bound by hand: fine
    assert ds.shape == (12, 16, 16)
    with pytest.raises(ValueError, match="only with webdataset.field = 'npy'"):
        build("dataset", "webdataset", urls=str(out / "train"), num_workers=0,
              autoencoder=build("autoencoder", "space_to_depth"))


# ----------------------------------------------------------------------------- latent runs

def run_cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (f"{args} failed ({r.returncode}):\n{r.stdout[-3000:]}\n"
                               f"{r.stderr[-3000:]}")
    return r


def latent_run(out: Path, wd: Path) -> dict:
    """3 steps of an unconditional mlp on the latents of out/train; returns summary.json."""
    run_cli("train", "--gin_file", "gin/debug.gin", "--no_progress", "--workdir", str(wd),
            "--gin_param", "train.dataset = @webdataset()",
            "--gin_param", f"webdataset.urls = '{out / 'train'}'",
            "--gin_param", f"webdataset.val_urls = '{out / 'val'}'",
            "--gin_param", "webdataset.field = 'npy'", "--gin_param", "webdataset.num_workers = 0",
            "--gin_param", "webdataset.device = 'cpu'", "--gin_param", "webdataset.batch_size = 8",
            "--gin_param", "webdataset.conditional = False",
            "--gin_param", "webdataset.per_class = 4", "--gin_param", "webdataset.global_size = 16",
            "--gin_param", "train.steps = 3", "--gin_param", "train.batch_size = 8",
            "--gin_param", "train.eval_every = 0", "--gin_param", "train.eval_samples = 24",
            "--gin_param", "train.checkpoint_every = 0")
    return json.loads((wd / "summary.json").read_text())


@pytest.mark.parametrize("latents", ["space_to_depth", "conv_ae"])
def test_a_latent_run_finishes_with_decoded_pictures(images, untrained, tmp_path, latents):
    out = shards(images, tmp_path / "shards", latents,
                 str(untrained) if latents == "conv_ae" else None)
    wd = tmp_path / "run"
    summary = latent_run(out, wd)
    assert summary["status"] == "finished" and summary["step"] == 3
    assert all(np.isfinite(v) for v in summary["final_metrics"].values()
               if isinstance(v, float))
    with Image.open(wd / "samples.png") as png:
        # two grids of decoded 32x32 RGB images, 10 cells a row at 64 px (+1 px pads), 16 px
        # apart, each under a 22 px caption band and the run name on top (data: 10 rows of 10)
        assert png.mode == "RGB" and png.size == (2 * (10 * 65 + 1) + 16, 2 * 22 + 10 * 65 + 1)
    run_cli("sample", "--workdir", str(wd), "--num", "6", "--png_dir", str(tmp_path / "png"),
            "--grid", str(tmp_path / "grid.png"), "--out", str(tmp_path / "z.npy"))
    pngs = sorted((tmp_path / "png").iterdir())
    assert len(pngs) == 6
    with Image.open(pngs[0]) as one:
        assert one.mode == "RGB" and one.size == (SIZE, SIZE)
    assert np.load(tmp_path / "z.npy").shape[1] == (3072 if latents == "space_to_depth" else 64)
