"""Encoders (zoo/encoders/) and the multi-feature-set drift loss (zoo/features.py).

Every registered encoder: names and shapes of every set on digits-shaped [N, 1, 8, 8] and
shapes-shaped [N, 3, 32, 32] inputs, frozen (no parameter gradients, eval mode, deterministic)
yet differentiable in its input; the statistics' values; mae save/load round trip and
tools/train_encoder.py; clear errors for missing files and packages; feature_drift_loss
against drift_loss, its sum over sets, gradients and per-set scale invariance.
"""
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo.drift import drift_loss
from zoo.encoders import SetOptions, map_sets
from zoo.encoders.mae import ResNet, resnet_sets, save_encoder
from zoo.features import feature_drift_loss

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {"digits": (1, 8, 8), "shapes": (3, 32, 32)}
TINY = dict(base_channels=4, layers=(1, 1, 1, 1))
DRIFT = dict(field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)


def _save_tiny_mae(path: Path, shape, seed=0) -> ResNet:
    torch.manual_seed(seed)
    net = ResNet(shape[0], input_patch_size=1, **TINY)
    save_encoder(net, path, dict(in_channels=shape[0], input_patch_size=1, shape=list(shape),
                                 base_channels=TINY["base_channels"], layers=list(TINY["layers"])))
    return net


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    tv = pytest.importorskip("torchvision")
    path = tmp_path_factory.mktemp("tv") / "resnet18_random.pth"
    torch.manual_seed(0)
    torch.save(tv.models.resnet18(weights=None).state_dict(), path)
    return path


def _build(name, shape, tmp_path, request):
    """A tiny instance of every registered encoder; a new encoder must add itself here."""
    if name == "identity":
        return zoo.build("encoder", "identity")
    if name == "random_conv":
        return zoo.build("encoder", "random_conv", in_channels=shape[0], shape=shape, **TINY)
    if name == "mae":
        _save_tiny_mae(tmp_path / "mae.pt", shape)
        return zoo.build("encoder", "mae", path=str(tmp_path / "mae.pt"))
    if name == "torchvision":
        path = request.getfixturevalue("resnet18_file")
        return zoo.build("encoder", "torchvision", path=str(path), shape=shape)
    raise AssertionError(f"encoder '{name}' has no builder in tests/test_encoders.py")


def _expected(maps, shape, image=True):
    """{name: (L, C)} by the release's rules: maps [(name, C, H)] of square maps."""
    c, h, w = shape
    out = {"global": (1, c * h * w)}
    if not image:
        return out
    out["norm_x"] = (1, c)
    for name, ch, s in maps:
        out[name], out[f"{name}_mean"] = (s * s, ch), (1, ch)
        if s > 1:
            out[f"{name}_std"] = (1, ch)
        for stat in ("mean", "std"):
            for p in (2, 4):
                if s % p == 0:
                    out[f"{name}_{stat}_{p}"] = ((s // p) ** 2, ch)
    return out


def _resnet_maps(h):
    b = TINY["base_channels"]
    return [("conv1", b, h), ("layer1", b, h), ("layer2", 2 * b, h // 2),
            ("layer3", 4 * b, h // 4), ("layer4", 8 * b, max(h // 8, 1))]


def _resnet18_maps(h):
    s = h // 4  # conv1 stride 2 + maxpool
    return [(f"layer{i}", 64 * 2 ** (i - 1), max(s // 2 ** (i - 1), 1)) for i in range(1, 5)]


@pytest.mark.parametrize("data", SHAPES)
@pytest.mark.parametrize("name", zoo.names("encoder"))
def test_every_encoder_gives_the_release_sets(name, data, tmp_path, request):
    shape = SHAPES[data]
    enc = _build(name, shape, tmp_path, request)
    x = torch.rand(3, *shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    feats = enc(x)
    maps = {"identity": [], "random_conv": _resnet_maps(shape[1]), "mae": _resnet_maps(shape[1]),
            "torchvision": _resnet18_maps(shape[1])}[name]
    expected = _expected(maps, shape, image=name != "identity")
    assert {k: tuple(v.shape) for k, v in feats.items()} == {k: (3, *v) for k, v in expected.items()}
    assert list(feats)[:2] == (["global", "norm_x"] if name != "identity" else ["global"])
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in feats.values())
    torch.testing.assert_close(feats["global"][:, 0], x.reshape(3, -1))
    if name in ("random_conv", "mae"):
        assert len(feats) == {"digits": 30, "shapes": 37}[data]
        flat = enc(x.reshape(3, -1))  # flat rows fold back with the shape
        assert all(torch.equal(flat[k], feats[k]) for k in feats)


@pytest.mark.parametrize("name", zoo.names("encoder"))
def test_encoders_are_frozen_deterministic_and_pass_gradients_to_the_input(name, tmp_path, request):
    enc = _build(name, SHAPES["digits"], tmp_path, request)
    enc.train()  # a trainer calling .train() on everything must not unfreeze it
    assert not enc.training and all(not m.training for m in enc.modules())
    assert all(not p.requires_grad for p in enc.parameters())
    x = (torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1).requires_grad_()
    a, b = enc(x), enc(x)
    assert all(torch.equal(a[k], b[k]) for k in a)
    sum(v.square().mean() for v in a.values()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.parameters())


def test_set_statistics_values():
    g = torch.Generator().manual_seed(3)
    fmap = torch.randn(2, 5, 4, 4, generator=g)
    sets = map_sets("f", fmap, SetOptions())
    assert torch.equal(sets["f"][:, 1 * 4 + 2], fmap[:, :, 1, 2])            # row-major locations
    torch.testing.assert_close(sets["f_mean"][:, 0], fmap.mean(dim=(2, 3)))
    torch.testing.assert_close(sets["f_std"][:, 0], (fmap.var(dim=(2, 3), unbiased=False) + 1e-6).sqrt())
    pool = torch.nn.functional.avg_pool2d
    torch.testing.assert_close(sets["f_mean_2"], pool(fmap, 2).flatten(2).transpose(1, 2))
    var2 = pool(fmap ** 2, 2) - pool(fmap, 2) ** 2
    torch.testing.assert_close(sets["f_std_2"], (var2 + 1e-6).sqrt().flatten(2).transpose(1, 2),
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(sets["f_mean_4"], sets["f_mean"])
    x = torch.randn(2, 3, 4, 4, generator=g)
    norm = zoo.encoders.input_sets(x)["norm_x"]
    torch.testing.assert_close(norm[:, 0], (x.pow(2).mean(dim=(2, 3)) + 1e-6).sqrt())
    opts = SetOptions(patch_mean_size=(), patch_std_size=(), use_mean=False, use_std=False)
    assert list(map_sets("f", fmap, opts)) == ["f"]


def test_random_conv_is_seeded_and_leaves_the_global_rng_alone():
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(123)
    a = zoo.build("encoder", "random_conv", seed=5, **TINY)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)
    b = zoo.build("encoder", "random_conv", seed=5, **TINY)
    c = zoo.build("encoder", "random_conv", seed=6, **TINY)
    assert torch.equal(a(x)["layer3"], b(x)["layer3"]) and not torch.equal(a(x)["layer3"], c(x)["layer3"])
    assert "layer1_blk1" in zoo.build("encoder", "random_conv", every_k_block=1, **TINY)(x)


def test_mae_save_load_round_trip(tmp_path):
    net = _save_tiny_mae(tmp_path / "m.pt", (3, 32, 32), seed=7)
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    assert set(state) == set(net.state_dict())
    enc = zoo.build("encoder", "mae", path=str(tmp_path / "m.pt"))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = resnet_sets(net.eval(), x, SetOptions(), 2, True)
    got = enc(x)
    assert list(got) == list(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
    other = _save_tiny_mae(tmp_path / "o.pt", (3, 32, 32), seed=8)
    assert not torch.equal(resnet_sets(other, x, SetOptions(), 2, True)["layer2"], got["layer2"])


def test_missing_files_and_packages_are_clear_errors(tmp_path, monkeypatch, request):
    with pytest.raises(FileNotFoundError, match=r"nope\.pt.*drift-zoo train-encoder --dataset .* --out.*current folder"):
        zoo.build("encoder", "mae", path=str(tmp_path / "nope.pt"))
    torch.save({}, tmp_path / "lonely.pt")  # a state dict without its .json
    with pytest.raises(FileNotFoundError, match=r"lonely\.json"):
        zoo.build("encoder", "mae", path=str(tmp_path / "lonely.pt"))
    with pytest.raises(FileNotFoundError, match="mae.path"):
        zoo.build("encoder", "mae")
    with pytest.raises(ValueError, match=r"shape = \(C, H, W\)"):
        zoo.build("encoder", "random_conv", **TINY)(torch.randn(2, 3 * 32 * 32))
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(ImportError, match=r"pip install torchvision==0\.29\.1"):
        zoo.build("encoder", "torchvision", path=str(tmp_path / "w.pth"))
    monkeypatch.undo()
    pytest.importorskip("torchvision")
    with pytest.raises(FileNotFoundError, match=r"w\.pth.*never\s+downloaded"):
        zoo.build("encoder", "torchvision", path=str(tmp_path / "w.pth"))
    with pytest.raises(FileNotFoundError, match=r"checkpoints/resnet18-.*\.pth"):
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
        zoo.build("encoder", "torchvision")


def _tool():
    spec = importlib.util.spec_from_file_location("tool_train_encoder", ROOT / "tools" / "train_encoder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_patch_mask_cells_and_ratio():
    tool = _tool()
    g = torch.Generator().manual_seed(0)
    assert tool.patch_mask(3, 8, 8, 2, 0.0, 0.0, g).sum() == 0
    assert tool.patch_mask(3, 8, 8, 2, 1.0, 1.0, g).min() == 1
    m = tool.patch_mask(400, 8, 8, 2, 0.75, 0.75, g)
    assert m.shape == (400, 1, 8, 8) and abs(m.mean().item() - 0.75) < 0.02
    assert torch.equal(m, m[:, :, ::2, ::2].repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_train_encoder_tool_lowers_the_masked_loss_and_saves_a_loadable_mae(tmp_path):
    out = tmp_path / "enc" / "mae_digits.pt"
    rc = _tool().main(["--dataset", "digits", "--out", str(out), "--steps", "25", "--batch", "32",
                       "--base_channels", "4", "--eval_batch", "128", "--quiet"])
    assert rc == 0
    config = json.loads(out.with_suffix(".json").read_text())
    assert config["eval_loss_after"] < 0.7 * config["eval_loss_before"]
    assert config["shape"] == [1, 8, 8] and config["mask_patch"] == 2
    enc = zoo.build("encoder", "mae", path=str(out))
    assert len(enc(torch.zeros(2, 64))) == 30
    assert _tool().main(["--dataset", "checkerboard", "--out", str(tmp_path / "x.pt"), "--quiet"]) == 2


def test_train_encoder_size_trains_on_16x16_shapes_and_is_a_shapes_option(tmp_path):
    """--size 16: the encoder of the quick 16x16 benchmark (its .json says the shape, so
    ``mae`` reads 16x16 images); --size elsewhere is a clear error (exit 2)."""
    out = tmp_path / "mae16.pt"
    rc = _tool().main(["--dataset", "shapes", "--size", "16", "--out", str(out), "--steps", "3",
                       "--batch", "8", "--base_channels", "4", "--eval_batch", "32", "--quiet"])
    assert rc == 0
    assert json.loads(out.with_suffix(".json").read_text())["shape"] == [3, 16, 16]
    sets = zoo.build("encoder", "mae", path=str(out))(torch.zeros(2, 3 * 16 * 16))
    assert sets["global"].shape == (2, 1, 3 * 16 * 16)
    assert _tool().main(["--dataset", "digits", "--size", "16", "--out", str(tmp_path / "d.pt"),
                         "--quiet"]) == 2


# ---- feature_drift_loss ---------------------------------------------------------------------

def _sets(b=2, n=6, p=8, q=3, seed=0, sizes=(("a", 1, 5), ("b", 4, 3))):
    g = torch.Generator().manual_seed(seed)
    make = lambda m, l, c, s=1.0: torch.randn(b, m, l, c, generator=g) * s  # noqa: E731
    gen = {k: make(n, l, c) for k, l, c in sizes}
    pos = {k: make(p, l, c, 1.3) + 0.4 for k, l, c in sizes}
    neg = {k: make(q, l, c) for k, l, c in sizes}
    return gen, pos, neg


def test_one_set_with_one_location_is_drift_loss():
    gen, pos, neg = _sets(sizes=(("a", 1, 5),))
    w = torch.rand(2, 3, generator=torch.Generator().manual_seed(1)) * 2
    loss, stats = feature_drift_loss(gen, pos, neg, neg_w=w, **DRIFT)
    ref, ref_stats = drift_loss(gen["a"][:, :, 0], pos["a"][:, :, 0], neg["a"][:, :, 0], neg_w=w, **DRIFT)
    torch.testing.assert_close(loss, ref, rtol=0, atol=0)
    assert stats["a/scale"] == ref_stats["scale"] and stats["loss"] == ref.mean()
    one, _ = feature_drift_loss({"a": gen["a"][0]}, {"a": pos["a"][0]}, **DRIFT)  # [N, L, C]
    assert one.shape == (1,)


def test_locations_are_drift_groups_sharing_one_scale():
    gen, pos, _ = _sets(b=1, sizes=(("b", 4, 3),))
    loss, stats = feature_drift_loss(gen, pos, **DRIFT)
    per_location, ref_stats = drift_loss(gen["b"][0].transpose(0, 1), pos["b"][0].transpose(0, 1), **DRIFT)
    torch.testing.assert_close(loss, per_location.mean()[None])
    assert stats["b/scale"] == ref_stats["scale"]


def test_sum_over_sets_and_weights():
    gen, pos, neg = _sets()
    total, stats = feature_drift_loss(gen, pos, neg, **DRIFT)
    parts = {k: feature_drift_loss({k: gen[k]}, {k: pos[k]}, {k: neg[k]}, **DRIFT)[0] for k in gen}
    torch.testing.assert_close(total, parts["a"] + parts["b"])
    weighted, _ = feature_drift_loss(gen, pos, neg, weights={"a": 2.0, "b": 0.0}, **DRIFT)
    torch.testing.assert_close(weighted, 2 * parts["a"])
    assert {"a/loss", "b/loss", "a/scale", "b/drift_rms", "loss"} <= set(stats)
    with pytest.raises(ValueError, match="unknown sets"):
        feature_drift_loss(gen, pos, weights={"c": 1.0}, **DRIFT)
    with pytest.raises(ValueError, match="differ"):
        feature_drift_loss(gen, {"a": pos["a"]}, **DRIFT)


def test_gradients_flow_only_to_generated_features():
    gen, pos, neg = _sets()
    for t in (*gen.values(), *pos.values(), *neg.values()):
        t.requires_grad_(True)
    loss, _ = feature_drift_loss(gen, pos, neg, **DRIFT)
    loss.sum().backward()
    assert all(g.grad is not None and g.grad.abs().sum() > 0 for g in gen.values())
    assert all(t.grad is None for t in (*pos.values(), *neg.values()))


def test_each_set_is_normalised_by_its_own_scale():
    gen, pos, neg = _sets()
    scaled = [{k: v * (10.0 if k == "b" else 1.0) for k, v in d.items()} for d in (gen, pos, neg)]
    base, s0 = feature_drift_loss(gen, pos, neg, **DRIFT)
    moved, s1 = feature_drift_loss(*scaled, **DRIFT)
    torch.testing.assert_close(moved, base, rtol=1e-5, atol=0)
    torch.testing.assert_close(s1["b/scale"], 10 * s0["b/scale"], rtol=1e-5, atol=0)
    torch.testing.assert_close(s1["b/loss"], s0["b/loss"], rtol=1e-5, atol=0)
    raw = dict(scaling="none", combine="per_temperature", **DRIFT)  # data units: the loss moves
    r0, r1 = feature_drift_loss(gen, pos, neg, **raw)[1], feature_drift_loss(*scaled, **raw)[1]
    assert abs(r1["b/loss"] - r0["b/loss"]) > 0.2 * r0["b/loss"] and r1["a/loss"] == r0["a/loss"]


def test_encoder_features_carry_the_loss_to_generated_images_only():
    enc = zoo.build("encoder", "random_conv", in_channels=1, **TINY)
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(6, 1, 8, 8, generator=g) * 2 - 1).requires_grad_()
    y = torch.rand(8, 1, 8, 8, generator=g) * 2 - 1
    fx, fy = enc(x), {k: v.detach() for k, v in enc(y).items()}
    loss, stats = feature_drift_loss(fx, fy, **DRIFT)
    loss.sum().backward()
    assert x.grad.abs().sum() > 0 and all(p.grad is None for p in enc.parameters())
    assert len([k for k in stats if k.endswith("/scale")]) == 30
