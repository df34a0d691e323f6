"""Image generators (zoo/generators/conv.py, dit.py): shapes, adaLN-Zero init, conditioning,
noise determinism, DiT parameter counts against the DiT paper, a tiny overfit, clear errors."""
import pytest
import torch

import zoo
from zoo.generators.dit import DiT
from zoo.registry import name_of

TINY = dict(patch=4)  # dit_tiny on 32x32 -> 8x8 = 64 tokens: fast on CPU


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _perturb(model, seed=0):
    """Randomise every parameter (the zero-initialised ones included)."""
    g = _gen(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return model


def test_image_generators_are_registered():
    for name in ("conv", "dit", "dit_tiny", "dit_s", "dit_b", "dit_l"):
        assert name in zoo.names("generator")
    m = zoo.build("generator", "dit_tiny", shape=(4, 8, 8), patch=2)
    assert name_of(m) == "dit_tiny" and (len(m.blocks), m.pos.shape[-1]) == (2, 64)
    assert name_of(zoo.build("generator", "conv", shape=(1, 8, 8))) == "conv"


@pytest.mark.parametrize("shape,num_classes", [((1, 8, 8), None), ((3, 32, 32), None),
                                               ((3, 32, 32), 10), ((1, 8, 8), 3)])
def test_conv_shapes(shape, num_classes):
    m = zoo.build("generator", "conv", shape=shape, num_classes=num_classes, width=16)
    z = m.noise(5, _gen())
    assert z.shape == (5, m.noise_dim)
    labels = None if num_classes is None else torch.arange(5) % num_classes
    x = m(z, labels)
    assert x.shape == (5, *shape) and torch.isfinite(x).all()
    assert len(m.blocks) == {8: 1, 32: 3}[shape[1]]
    bounded = zoo.build("generator", "conv", shape=shape, num_classes=num_classes, width=16,
                        tanh=True)
    assert _perturb(bounded)(z, labels).abs().max() <= 1


@pytest.mark.parametrize("shape,patch", [((3, 32, 32), 4), ((3, 32, 32), 2), ((4, 8, 8), 2),
                                         ((4, 16, 8), 4)])
def test_dit_tiny_shapes(shape, patch):
    for k in (None, 10):
        m = zoo.build("generator", "dit_tiny", shape=shape, patch=patch, num_classes=k)
        z = m.noise(3, _gen())
        assert z.shape == (3, *shape)
        x = _perturb(m)(z, None if k is None else torch.tensor([0, 5, k]))  # k: the null class
        assert x.shape == (3, *shape) and torch.isfinite(x).all()


def test_dit_unpatchify_puts_each_token_at_its_patch():
    m = zoo.build("generator", "dit_tiny", shape=(2, 8, 12), patch=4)
    gh, gw = m.grid
    assert (gh, gw) == (2, 3)
    tokens = torch.arange(gh * gw, dtype=torch.float)[None, :, None].expand(1, -1, 4 * 4 * 2)
    img = m.unpatchify(tokens.contiguous())[0]
    for i in range(gh):
        for j in range(gw):
            assert (img[:, 4 * i:4 * i + 4, 4 * j:4 * j + 4] == i * gw + j).all()


@pytest.mark.parametrize("num_classes", [None, 7])
def test_dit_adaln_zero_init_blocks_are_identity_and_output_is_zero(num_classes):
    m = zoo.build("generator", "dit_tiny", shape=(3, 32, 32), num_classes=num_classes, **TINY)
    seen = []
    for block in m.blocks:
        block.register_forward_hook(lambda mod, inp, out: seen.append((inp[0], out)))
    z = m.noise(4, _gen())
    labels = None if num_classes is None else torch.arange(4)
    x = m(z, labels) if labels is None else m(z, labels, torch.full((4,), 2.5))
    assert torch.equal(x, torch.zeros_like(x))
    assert len(seen) == 2
    for inp, out in seen:
        assert inp.abs().sum() > 0 and torch.equal(inp, out)
    # adaLN-Zero training: step 1 moves only the final layer (the zero output layer blocks
    # every other gradient), so the blocks are still the identity; from step 2 they move.
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    target = torch.randn(x.shape, generator=_gen(1))
    for step in (1, 2):
        opt.zero_grad()
        ((m(z, labels) - target) ** 2).mean().backward()
        opt.step()
        seen.clear()
        assert m(z, labels).abs().min() > 0
        assert all(torch.equal(inp, out) for inp, out in seen) == (step == 1)


def test_dit_class_and_alpha_change_the_output_once_perturbed():
    m = _perturb(zoo.build("generator", "dit_tiny", shape=(4, 8, 8), patch=2, num_classes=5))
    z = m.noise(6, _gen())
    c0, c1 = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    x = m(z, c0)
    assert not torch.allclose(x, m(z, c1), atol=1e-4)
    assert torch.equal(x, m(z, c0, torch.ones(6)))                 # alpha = 1 is the default
    assert torch.allclose(x, m(z, c0, torch.tensor(1.0)))          # scalar alpha broadcasts
    assert not torch.allclose(x, m(z, c0, torch.full((6,), 3.0)), atol=1e-4)
    assert not torch.allclose(x, m(z, torch.full((6,), 5)), atol=1e-4)  # the null class


def test_conv_film_is_neutral_at_init_and_conditions_once_perturbed():
    m = zoo.build("generator", "conv", shape=(3, 32, 32), num_classes=4, width=16)
    z = m.noise(6, _gen())
    c0, c1 = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    assert torch.equal(m(z, c0), m(z, c1))                          # FiLM starts at zero
    _perturb(m)
    x = m(z, c0)
    assert not torch.allclose(x, m(z, c1), atol=1e-4)
    assert torch.equal(x, m(z, c0, torch.ones(6)))
    assert not torch.allclose(x, m(z, c0, torch.full((6,), 3.0)), atol=1e-4)


def test_conv_unconditional_init_does_not_depend_on_conditioning_code():
    torch.manual_seed(3)
    plain = zoo.build("generator", "conv", shape=(1, 8, 8), width=16)
    torch.manual_seed(3)
    cond = zoo.build("generator", "conv", shape=(1, 8, 8), width=16, num_classes=3)
    for key, value in plain.state_dict().items():
        assert torch.equal(cond.state_dict()[key], value), key
    assert set(cond.state_dict()) - set(plain.state_dict())        # FiLM only when conditional


@pytest.mark.parametrize("name,kw", [("conv", dict(shape=(1, 8, 8))),
                                     ("dit_tiny", dict(shape=(4, 8, 8), patch=2)),
                                     ("dit_tiny", dict(shape=(4, 8, 8), patch=2,
                                                       style_tokens=3))])
def test_noise_comes_only_from_the_given_generator(name, kw):
    m = zoo.build("generator", name, **kw)
    state = torch.get_rng_state()
    a, b, c = m.noise(4, _gen(1)), m.noise(4, _gen(1)), m.noise(4, _gen(2))
    assert torch.equal(torch.get_rng_state(), state)
    flat = [torch.cat([t.flatten(1).float() for t in (v if isinstance(v, tuple) else (v,))], 1)
            for v in (a, b, c)]
    assert torch.equal(flat[0], flat[1]) and not torch.equal(flat[0], flat[2])
    x = _perturb(m)(a)
    assert torch.equal(x, m(b)) and not torch.equal(x, m(c))


def test_dit_style_tokens_enter_the_condition():
    m = _perturb(zoo.build("generator", "dit_tiny", shape=(4, 8, 8), patch=2, style_tokens=4,
                           style_codes=8))
    z, idx = m.noise(3, _gen())
    assert idx.shape == (3, 4) and idx.dtype == torch.long and 0 <= idx.min() <= idx.max() < 8
    assert not torch.allclose(m((z, idx)), m((z, (idx + 1) % 8)), atol=1e-4)
    with pytest.raises(ValueError, match="style"):
        m(z)


# DiT paper (Peebles & Xie 2023, Table 1) parameter counts of DiT-S/B/L, for 32x32x4 latents
# (256x256 images through the SD VAE), patch 2, 1000 classes. Their count also holds the
# learned-sigma output channels and the (frozen) position table, ours the alpha embedder in
# place of the timestep embedder (same size): within 1% either way.
PAPER = {"dit_s": 33e6, "dit_b": 130e6, "dit_l": 458e6}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_dit_parameter_counts_match_the_dit_paper(name):
    with torch.device("meta"):
        m = zoo.build("generator", name, shape=(4, 32, 32), patch=2, num_classes=1000)
    count = sum(p.numel() for p in m.parameters())
    assert abs(count / PAPER[name] - 1) < 0.02, count
    w = m.blocks[0].proj.in_features
    assert count == _analytic_count(len(m.blocks), w, 2, 4, 1000)


def _analytic_count(depth, w, p, ch, k, freq=256):
    block = 3 * w * w + 3 * w + w * w + w + 8 * w * w + 4 * w + w + 6 * w * w + 6 * w
    return (depth * block + ch * p * p * w + w + (k + 1) * w + freq * w + w + w * w + w
            + 2 * w * w + 2 * w + w * p * p * ch + p * p * ch)


@pytest.mark.parametrize("name,kw", [("conv", dict(shape=(3, 32, 32), width=16)),
                                     ("dit_tiny", dict(shape=(3, 32, 32), **TINY))])
def test_tiny_overfit_regression(name, kw):
    torch.manual_seed(0)
    m = zoo.build("generator", name, num_classes=3, **kw)
    z, labels = m.noise(8, _gen()), torch.arange(8) % 3
    smooth = torch.rand((8, 3, 8, 8), generator=_gen(1)) * 2 - 1     # image-like targets
    target = torch.nn.functional.interpolate(smooth, size=32, mode="bilinear")
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = ((m(z, labels) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], losses[::8]
    # and fits each image: 3x better than the best output that ignores z (the per-pixel mean)
    assert losses[-1] < 0.3 * ((target - target.mean(0)) ** 2).mean().item(), losses[::8]


def test_clear_errors():
    with pytest.raises(ValueError, match=r"H = W in \(8, 16, 32\)"):
        zoo.build("generator", "conv", shape=(3, 24, 24))
    assert zoo.build("generator", "conv", shape=(3, 16, 16))(torch.randn(2, 64)).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match=r"H = W"):
        zoo.build("generator", "conv", shape=(3, 8, 32))
    with pytest.raises(ValueError, match="out_dim"):
        zoo.build("generator", "conv", shape=(1, 8, 8), out_dim=2)
    assert zoo.build("generator", "conv", shape=(1, 8, 8), out_dim=64).shape == (1, 8, 8)
    with pytest.raises(ValueError, match="divisible by patch"):
        zoo.build("generator", "dit_tiny", shape=(4, 10, 10), patch=4)
    with pytest.raises(ValueError, match="out_dim"):
        zoo.build("generator", "dit_tiny", shape=(4, 8, 8), out_dim=2)
    with pytest.raises(ValueError, match="divisible by heads"):
        zoo.build("generator", "dit", shape=(4, 8, 8), width=64, heads=3)
    for name, kw in (("conv", dict(shape=(1, 8, 8))), ("dit_tiny", dict(shape=(4, 8, 8)))):
        plain = zoo.build("generator", name, **kw)
        z = plain.noise(2, _gen())
        with pytest.raises(ValueError, match="unconditional"):
            plain(z, labels=torch.zeros(2, dtype=torch.long))
        with pytest.raises(ValueError, match="unconditional"):
            plain(z, alpha=torch.ones(2))
        cond = zoo.build("generator", name, num_classes=4, **kw)
        with pytest.raises(ValueError, match="needs labels"):
            cond(z)
        with pytest.raises(ValueError, match="noise of shape"):
            cond(z[:, :1], torch.zeros(2, dtype=torch.long))
    assert issubclass(type(zoo.build("generator", "dit_s", shape=(4, 8, 8), depth=1)), DiT)


def test_mlp_init_center_and_spread_place_q_at_the_start():
    """Fig. 3's starts: samples at step 0 centred on init_center with std ~ init_spread; the
    default initialisation is untouched."""
    import torch

    from zoo.generators.mlp import mlp

    torch.manual_seed(0)
    plain = mlp(2)
    torch.manual_seed(0)
    same = mlp(2, init_center=None, init_spread=None)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), same.state_dict().values()))
    torch.manual_seed(0)
    g = mlp(2, init_center=(2.0, 0.0), init_spread=0.05)
    x = g(g.noise(4096, torch.Generator().manual_seed(1))).detach()  # noise_dim may be gin-bound
    assert torch.allclose(x.mean(0), torch.tensor([2.0, 0.0]), atol=0.01)
    assert abs(x.std(0).mean().item() - 0.05) < 0.005
    import pytest

    with pytest.raises(ValueError, match="mlp.init_center needs 2 numbers"):
        mlp(2, init_center=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="mlp.init_spread must be > 0"):
        mlp(2, init_spread=0.0)


def test_sampling_a_conditional_dit_with_style_tokens():
    """zoo.run.sampling.sample takes the batch size from the request, not len(noise): a DiT
    with style tokens returns (image noise, style indices) as its noise."""
    import zoo
    from zoo.run.sampling import sample

    m = zoo.build("generator", "dit_tiny", shape=(1, 8, 8), patch=4, style_tokens=4,
                  style_codes=8, num_classes=3)
    x = sample(m, 10, seed=0, chunk=4)
    assert x.shape == (10, 64) and bool(x.isfinite().all())


def test_with_coords_appends_pixel_centres_x_then_y():
    from zoo.generators.conv import with_coords
    h = with_coords(torch.zeros(2, 3, 4, 4))
    assert h.shape == (2, 5, 4, 4) and torch.equal(h[:, :3], torch.zeros(2, 3, 4, 4))
    centres = torch.tensor([-0.75, -0.25, 0.25, 0.75])
    assert torch.allclose(h[0, 3], centres.expand(4, 4))         # x varies along the width
    assert torch.allclose(h[1, 4], centres[:, None].expand(4, 4))  # y along the height


@pytest.mark.parametrize("name,varies", [("conv", False), ("coord_conv", True)])
def test_only_coord_conv_paints_a_constant_code_by_position(name, varies):
    """The CoordConv argument (Liu et al. 2018): from a code that is the same at every pixel, a
    plain conv stack paints the same value at every interior pixel; with coordinates it can
    paint by position -- what drawing a shape where the noise says needs."""
    m = _perturb(zoo.build("generator", name, shape=(3, 32, 32), num_classes=6, width=8))
    with torch.no_grad():  # the stem's 4x4 map: the same vector at every location
        m.stem.weight.zero_()
        m.stem.bias.copy_(torch.randn(8, generator=_gen())[:, None].expand(8, 16).reshape(-1))
    x = m(m.noise(2, _gen()), torch.tensor([0, 3]))
    interior = x[..., 8:24, 8:24]                  # far from the zero padding's reach
    spread = (interior - interior.mean(dim=(-1, -2), keepdim=True)).abs().max()
    assert (spread > 1e-2) if varies else (spread < 1e-5)
    assert name_of(m) == name


def test_deep_conv_plugin_is_conv_at_depth_1_and_the_stem_carries_the_class():
    """results/images/deep_conv.py (the generator-depth rows of results/images.md): with one
    conv per resolution and no class in the stem it is ``conv`` weight for weight; with the
    class in the stem two classes differ already at the 4x4 layout, before any FiLM. Run in a
    subprocess so the plug-in's registry entry stays out of this process's registry-wide tests."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    code = """
import torch, zoo
from zoo.plugins import load_one
load_one('results/images/deep_conv.py')
kw = dict(shape=(3, 16, 16), num_classes=6, width=8, noise_dim=16)
torch.manual_seed(0); plain = zoo.build('generator', 'conv', **kw)
torch.manual_seed(0); deep = zoo.build('generator', 'deep_conv', depth=1, class_stem=False, **kw)
z, y = torch.randn(4, 16), torch.arange(4)
with torch.no_grad():
    for p, q in zip(plain.parameters(), deep.parameters()):
        p.add_(0.1 * torch.ones_like(p)); q.add_(0.1 * torch.ones_like(q))
    assert torch.equal(plain(z, y), deep(z, y)), 'depth 1 without the stem must be conv'
    stem = zoo.build('generator', 'deep_conv', depth=3, class_stem=True, **kw)
    h0 = stem.stem(z[:1]) + stem.stem_c(stem._code(z[:1], y[:1], None))
    h1 = stem.stem(z[:1]) + stem.stem_c(stem._code(z[:1], y[1:2], None))
    assert (h0 - h1).abs().max() > 1e-3, 'the class must reach the 4x4 layout'
    assert stem(z, y).shape == (4, 3, 16, 16)
print('ok')
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]
