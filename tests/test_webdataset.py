"""WebDataset shards: make_shards (manifest, errors, latents), the loader (round trip, seeded
shuffling, rank / worker splits, corrupt samples, GPU decode) and the ``webdataset`` dataset
(sample banks, held out, worker teardown), on ~200 tiny PNGs drawn by ``shapes``."""
from __future__ import annotations

import multiprocessing
import os
import shutil
import sys

import numpy as np
import pytest
import torch

import zoo  # noqa: F401  (registers everything)
import zoo.autoencoders  # noqa: F401  (the autoencoder kind)
from zoo.data import check_dataset
from zoo.data.shapes import SHAPES
from zoo.data.shards import CorruptDataError, WebLoader, crop_box, epoch_shards, expand_urls
from zoo.registry import build

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import make_shards as ms  # noqa: E402

PER_CLASS, SIZE, MAX_PER_SHARD = 34, 32, 25  # 204 images, 9 shards (8 x 25 + 4)


def write_folder(root: str) -> str:
    """root/<shape>/<i>.png: PER_CLASS images of each of the 6 shapes classes."""
    from PIL import Image
    ds = build("dataset", "shapes", size=SIZE)
    for c, name in enumerate(SHAPES):
        os.makedirs(os.path.join(root, name))
        x = ds.sample_class(torch.full((PER_CLASS,), c), torch.Generator().manual_seed(c))
        px = ((x.view(-1, 3, SIZE, SIZE) + 1) * 127.5).round().clamp(0, 255).byte()
        for i, img in enumerate(px.permute(0, 2, 3, 1).numpy()):
            Image.fromarray(img).save(os.path.join(root, name, f"{i:03d}.png"))
    return root


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """(image folder, shard folder, manifest), with space_to_depth latents."""
    base = tmp_path_factory.mktemp("wds")
    src = write_folder(str(base / "images"))
    out = str(base / "shards")
    manifest = ms.make_shards(src, out, size=SIZE, center_crop=True, max_per_shard=MAX_PER_SHARD,
                              seed=3, latents="space_to_depth", progress=False)
    return src, out, manifest


def source_pixels(src: str, seed: int = 3) -> tuple[list[torch.Tensor], list[int]]:
    """Source images [3, S, S] in [-1, 1] and labels, in the shards' key order."""
    from PIL import Image
    _, items = ms.plan(src, seed)
    images = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)
              .float() / 127.5 - 1 for p, _ in items]
    return images, [c for _, c in items]


def epoch(loader: WebLoader) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(x [N, ...], labels [N], keys [N]) of one pass (loader with epochs=1)."""
    xs, ys, keys = [], [], []
    for x, y in loader:
        xs.append(x)
        ys.append(y)
        keys += loader.last_keys
    return torch.cat(xs), torch.cat(ys), keys


def plain(urls, **kw) -> WebLoader:
    """One ordered pass, centre crop, no flip, in-process, on the CPU."""
    opts = dict(size=SIZE, batch_size=64, num_workers=0, device="cpu", shuffle=False,
                epochs=1, random_crop=False, flip=False)
    return WebLoader(urls, **{**opts, **kw})


# ----------------------------------------------------------------------------- make_shards

def test_manifest(shards):
    src, out, m = shards
    assert m["classes"] == sorted(SHAPES) and m["num_classes"] == 6
    assert m["counts"] == {name: PER_CLASS for name in SHAPES} and m["total"] == 6 * PER_CLASS
    assert [s["count"] for s in m["shards"]] == [25] * 8 + [4]
    assert [s["name"] for s in m["shards"]] == [f"shard-{i:06d}.tar" for i in range(9)]
    assert sorted(os.listdir(out)) == sorted([s["name"] for s in m["shards"]] + ["manifest.json"])
    assert (m["size"], m["center_crop"], m["quality"], m["seed"]) == (SIZE, True, 95, 3)
    assert m["latents"] == {"autoencoder": "space_to_depth", "shape": [12, 16, 16],
                            "dtype": "float32"}
    assert m["source"] == os.path.abspath(src) and "drift-zoo make-shards" in m["command"]
    assert m["skipped"] == []


def test_make_shards_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ms.make_shards(str(tmp_path / "nope"), str(tmp_path / "out"), progress=False)
    os.makedirs(tmp_path / "empty" / "a")
    with pytest.raises(ValueError, match="no images"):
        ms.make_shards(str(tmp_path / "empty"), str(tmp_path / "out"), progress=False)
    with pytest.raises(ValueError, match="--size S and --center-crop"):
        ms.make_shards(str(tmp_path / "empty"), str(tmp_path / "o"), latents="space_to_depth",
                       progress=False)


# ----------------------------------------------------------------------------- the loader

def test_round_trip(shards):
    src, out, _ = shards
    images, labels = source_pixels(src)
    loader = plain(out)
    x, y, keys = epoch(loader)
    assert x.shape == (6 * PER_CLASS, 3, SIZE, SIZE) and x.dtype == torch.float32
    assert keys == [f"{i:08d}" for i in range(6 * PER_CLASS)]  # shard order, no shuffle
    assert y.tolist() == labels
    err = (x - torch.stack(images)).abs().mean(dim=(1, 2, 3))
    assert float(err.max()) < 0.06  # JPEG q95
    assert (loader.seen, loader.corrupt) == (6 * PER_CLASS, 0)


def test_latents_round_trip(shards):
    src, out, _ = shards
    images, labels = source_pixels(src)
    z, y, _ = epoch(plain(out, field="npy"))
    assert z.shape == (6 * PER_CLASS, 12, 16, 16) and y.tolist() == labels
    x = build("autoencoder", "space_to_depth").decode(z)
    torch.testing.assert_close(x, torch.stack(images), atol=1e-5, rtol=0)


def test_shuffling_is_seeded(shards):
    _, out, _ = shards
    order = lambda seed: epoch(plain(out, seed=seed, shuffle=True, shuffle_buffer=50))[2]
    a, b, c = order(0), order(0), order(1)
    assert a == b and a != c
    assert sorted(a) == sorted(c) == [f"{i:08d}" for i in range(6 * PER_CLASS)]
    assert a != sorted(a)


def test_augmentation_is_seeded_and_in_range(shards):
    _, out, _ = shards
    run = lambda seed: epoch(plain(out, seed=seed, random_crop=True, flip=True))[0]
    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= -1 and a.max() <= 1
    g = __import__("random").Random(0)
    for h, w in [(32, 32), (40, 90), (300, 20)]:
        for _ in range(20):
            top, left, ch, cw = crop_box(h, w, (0.08, 1.0), (3 / 4, 4 / 3), g)
            assert 0 <= top and top + ch <= h and 0 <= left and left + cw <= w
    assert crop_box(40, 90, None, None, None) == (0, 25, 40, 40)


def test_split_by_rank_and_worker_is_disjoint(shards):
    _, out, _ = shards
    urls = expand_urls(out)
    parts = [epoch_shards(urls, 5, 0, r, 2, w, 2) for r in range(2) for w in range(2)]
    assert sorted(sum(parts, [])) == urls and all(parts)
    assert epoch_shards(urls, 5, 0, 0, 2, 0, 2) != epoch_shards(urls, 6, 0, 0, 2, 0, 2)
    drawn = epoch_shards(urls, 0, 0, 1, 2, 1, 2, resample=True)
    assert len(drawn) == 2 and set(drawn) <= set(urls)
    by_rank = [set(epoch(plain(out, shuffle=True, rank=r, world_size=2))[2]) for r in range(2)]
    assert not by_rank[0] & by_rank[1] and len(by_rank[0] | by_rank[1]) == 6 * PER_CLASS
    _, y, keys = epoch(plain(out, num_workers=2, batch_size=16))  # DataLoader workers
    assert sorted(keys) == [f"{i:08d}" for i in range(6 * PER_CLASS)]
    with pytest.raises(ValueError, match="got no shard"):
        epoch(plain(urls[:2], rank=3, world_size=4))


def corrupt_shards(out: str, folder: str) -> tuple[str, int]:
    """Two good shards and one with 3 garbage JPEGs, 1 truncated JPEG, 1 sample without .cls."""
    import webdataset as wds
    os.makedirs(folder)
    for name in ("shard-000000.tar", "shard-000001.tar"):
        shutil.copy(os.path.join(out, name), folder)
    good = open(os.path.join(out, "shard-000000.tar"), "rb").read()
    first = next(iter(wds.tarfile_samples([{"url": os.path.join(out, "shard-000002.tar")}])))
    with wds.TarWriter(os.path.join(folder, "shard-000002.tar"), encoder=False) as w:
        for i in range(3):
            w.write({"__key__": f"bad{i}", "jpg": good[512 * i:512 * i + 300], "cls": b"1"})
        w.write({"__key__": "trunc", "jpg": first["jpg"][:len(first["jpg"]) // 2], "cls": b"1"})
        w.write({"__key__": "nocls", "jpg": first["jpg"]})
        w.write({"__key__": "fine", "jpg": first["jpg"], "cls": first["cls"]})
    return folder, 51


def test_corrupt_samples_are_skipped_and_counted(shards, tmp_path):
    folder, good = corrupt_shards(shards[1], str(tmp_path / "bad"))
    loader = plain(folder, max_corrupt_fraction=0.2, min_seen=10)
    x, y, keys = epoch(loader)
    assert len(y) == good and (loader.corrupt, loader.seen) == (5, good + 5)
    assert not {"bad0", "trunc", "nocls"} & set(keys) and "fine" in keys
    strict = plain(folder, max_corrupt_fraction=0.01, min_seen=10)
    with pytest.raises(CorruptDataError, match="shard-000002.tar"):
        epoch(strict)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU decode needs CUDA")
def test_gpu_decode_matches_cpu(shards):
    _, out, _ = shards
    cpu = epoch(plain(out))[0]
    loader = plain(out, device="cuda")
    assert loader.stream.mode == "bytes"
    x, y, _ = epoch(loader)
    assert x.is_cuda and y.is_cuda and x.shape == cpu.shape
    assert float((x.cpu() - cpu).abs().mean()) < 0.03  # nvJPEG vs libjpeg rounding
    aug = epoch(plain(out, device="cuda", random_crop=True, flip=True))[0]
    assert aug.shape == cpu.shape and aug.min() >= -1 and aug.max() <= 1


def test_device_auto_picks_the_decoder(shards):
    loader = WebLoader(shards[1], size=SIZE, device="auto")
    assert loader.stream.mode == ("bytes" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------- the dataset

def in_rows(rows: torch.Tensor, bank: torch.Tensor) -> bool:
    """True if every row [n, D] equals some bank item [m, *item] (as [-1, 1] floats)."""
    items = bank.reshape(len(bank), -1).float() / 127.5 - 1
    return bool(((rows[:, None] - items[None]).abs().amax(-1).min(dim=1).values < 1e-6).all())


def test_dataset_api(shards):
    ds = build("dataset", "webdataset", urls=shards[1], batch_size=32, num_workers=0,
               per_class=16, global_size=64, shuffle_buffer=50)
    assert (ds.shape, ds.num_classes, ds.conditional, ds.dim) == ((3, SIZE, SIZE), 6, True,
                                                                  3 * SIZE * SIZE)
    check_dataset(ds)
    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 0, 0, 2, 5, 5])
    rows = ds.sample_class(labels, g)
    for c in labels.unique().tolist():
        mine = rows[labels == c]
        assert in_rows(mine, ds.banks.bank[c, :int(ds.banks.count[c])])
        assert len(torch.unique(mine, dim=0)) == len(mine)  # distinct within a class
    assert in_rows(ds.sample(8, g), ds.banks.global_bank[:int(ds.banks.global_count)])
    held = ds.held_out(10)
    assert torch.equal(held, ds.held_out(10)) and held.shape == (10, ds.dim)
    first = epoch(plain(expand_urls(shards[1])[:1]))[0][:10].reshape(10, -1)
    torch.testing.assert_close(held, first)  # the first shard, in file order
    assert ds.held_out_class(torch.arange(6)).shape == (6, ds.dim)
    ds.close()


def test_dataset_workers_are_torn_down(shards):
    ds = build("dataset", "webdataset", urls=shards[1], batch_size=16, num_workers=2,
               per_class=8, global_size=32, shuffle_buffer=20, prefill_limit=2000)
    ds.sample(4, torch.Generator().manual_seed(0))
    assert multiprocessing.active_children()
    ds.close()
    assert not multiprocessing.active_children()


def test_latent_dataset(shards):
    ds = build("dataset", "webdataset", urls=shards[1], field="npy", batch_size=32,
               num_workers=0, per_class=8, global_size=32)
    assert ds.shape == (12, 16, 16) and ds.dim == 12 * 16 * 16
    check_dataset(ds)
    ds.close()


# ----------------------------------------------------------------------------- autoencoders

def test_space_to_depth_round_trip():
    ae = build("autoencoder", "space_to_depth", factor=4)
    x = torch.randn(2, 3, 16, 8)
    z = ae.encode(x)
    assert z.shape == (2, 48, 4, 2) and ae.latent_shape((3, 16, 8)) == (48, 4, 2)
    assert torch.equal(ae.decode(z), x)
    with pytest.raises(ValueError, match="divisible"):
        ae.encode(torch.randn(1, 3, 10, 8))


def test_sd_vae_needs_local_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="no VAE weights"):
        build("autoencoder", "sd_vae", path=str(tmp_path))


def test_batched_decode_path_runs_on_cpu(shards):
    """The GPU path's code (batched decode_jpeg, tensor crop / resize / flip, the dropped-row
    retry), run with device="cpu" so it is checked without CUDA."""
    import random

    import webdataset as wds

    from zoo.data.shards import Augment, decode_cpu, decode_gpu
    samples = list(wds.tarfile_samples([{"url": expand_urls(shards[1])[0]}]))[:8]
    datas = [torch.frombuffer(bytearray(s["jpg"]), dtype=torch.uint8) for s in samples]
    centre = Augment(SIZE, train=False)
    x, keep, failed = decode_gpu(datas, centre, random.Random(0), "cpu")
    ref = torch.stack([decode_cpu(s["jpg"], centre, random.Random(0)) for s in samples])
    assert x.shape == (8, 3, SIZE, SIZE) and keep.tolist() == list(range(8)) and not failed
    assert float((x.float() - ref.float()).abs().max()) <= 1
    datas[3] = datas[3][:40]
    x, keep, failed = decode_gpu(datas, Augment(SIZE, train=True), random.Random(0), "cpu")
    assert len(x) == 7 and 3 not in keep.tolist() and list(failed) == [3]


# ----------------------------------------------------------------------------- train-encoder

def test_train_encoder_from_shards(shards, tmp_path, capsys):
    """``drift-zoo train-encoder --dataset webdataset --shards DIR --val_shards DIR`` trains the
    MAE on streamed shard images (it used to fail with a TypeError: no urls)."""
    import json

    from zoo.cli import main as drift_zoo
    from zoo.encoders.mae import ResNet

    out = tmp_path / "mae.pt"
    urls = expand_urls(shards[1])
    args = ["train-encoder", "--dataset", "webdataset", "--shards", "::".join(urls[1:]),
            "--val_shards", urls[0], "--out", str(out), "--steps", "3", "--batch", "8",
            "--eval_batch", "16", "--input_patch_size", "2", "--workers", "0", "--quiet"]
    assert drift_zoo(args) == 0
    config = json.loads(out.with_suffix(".json").read_text())
    assert config["dataset"] == "webdataset" and config["shape"] == [3, SIZE, SIZE]
    assert config["val_shards"] == urls[0] and config["steps"] == 3
    assert np.isfinite(config["eval_loss_before"]) and np.isfinite(config["eval_loss_after"])
    net = ResNet(3, config["base_channels"], tuple(config["layers"]), 2)
    net.load_state_dict(torch.load(out, weights_only=True))
    assert drift_zoo([*args, "--cls_steps", "2"]) == 0  # the fine-tune reads the shards' labels
    config = json.loads(out.with_suffix(".json").read_text())
    assert config["cls_steps"] == 2 and 0 <= config["cls_accuracy_after"] <= 1
    net.load_state_dict(torch.load(out, weights_only=True))
    capsys.readouterr()
    assert drift_zoo(["train-encoder", "--dataset", "webdataset", "--out", str(out)]) == 2
    assert "pass --shards DIR" in capsys.readouterr().err
    assert drift_zoo(["train-encoder", "--dataset", "shapes", "--shards", shards[1],
                      "--out", str(out)]) == 2
    assert "--shards feeds --dataset webdataset, not 'shapes'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- exact resume

@pytest.mark.parametrize("workers", [0, 2])
def test_dataset_state_restores_stream_and_banks(shards, workers):
    """state_dict -> load_state_dict in a new dataset (whose stream was elsewhere): the banks
    and the next draws equal the uninterrupted dataset's, with and without DataLoader workers."""
    make = lambda: build("dataset", "webdataset", urls=shards[1], batch_size=8, per_class=4,
                         global_size=16, shuffle_buffer=20, num_workers=workers,
                         prefill_limit=2000)
    labels, g = torch.tensor([0, 1, 1, 4]), torch.Generator().manual_seed(0)
    ds = make()
    for _ in range(3):
        ds.sample_class(labels, g)
    state, rng = ds.state_dict(), g.get_state()
    assert state["batches"] > 3
    banks = {k: v.clone() for k, v in ds.banks.state_dict().items()}
    ahead = [ds.sample_class(labels, g) for _ in range(2)] + [ds.sample(4, g)]
    other = make()
    other.sample(4, torch.Generator().manual_seed(9))  # a stream elsewhere: reset by the load
    other.load_state_dict(state)
    for key, value in banks.items():
        assert torch.equal(other.banks.state_dict()[key], value), key
    g.set_state(rng)
    again = [other.sample_class(labels, g) for _ in range(2)] + [other.sample(4, g)]
    for a, b in zip(ahead, again):
        assert torch.equal(a, b)
    ds.close()
    other.close()


def test_shard_fed_run_sigkill_and_resume_is_bit_identical(shards, tmp_path, monkeypatch):
    """A run streaming positives from shards, SIGKILLed after a checkpoint and resumed, ends
    bit-identical to the uninterrupted run (tests/killer.py, as the toy resume test). One
    thread in every process: convolutions reduce in a thread-count-dependent order."""
    import json

    from tests.test_train import kill_and_resume

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the killer subprocess inherits it

    urls = expand_urls(shards[1])
    args = ["--gin_file", "gin/experiments/shapes.gin", "--no_progress"] + [
        arg for p in [
            "train.dataset = @webdataset()", f"webdataset.urls = '{'::'.join(urls[1:])}'",
            f"webdataset.val_urls = '{urls[0]}'", "webdataset.num_workers = 0",
            "webdataset.device = 'cpu'", "webdataset.batch_size = 8",
            "webdataset.per_class = 4", "webdataset.global_size = 16",
            "webdataset.shuffle_buffer = 16", "conv.width = 8", "conv.noise_dim = 8",
            "train.classes_per_step = 2", "train.batch_size = 8", "train.data_batch_size = 8",
            "train.uncond_per_class = 2", "train.steps = 24", "train.checkpoint_every = 7",
            "train.log_every = 1", "train.eval_every = 0", "train.eval_samples = 16"]
        for arg in ("--gin_param", p)]
    a, b, killed_at = kill_and_resume(args, tmp_path, 24)
    assert killed_at == 21 and a["dataset"] == b["dataset"] and a["dataset"]["batches"] > 24
    losses = [[r["loss"] for r in map(json.loads, (tmp_path / d / "metrics.jsonl").read_text()
                                      .splitlines()) if r["kind"] == "train"] for d in "ab"]
    assert losses[0] == losses[1]
