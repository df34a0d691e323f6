"""zoo.metrics.blur: the Gaussian blur behind the blur-robust shapes evaluator."""
import pytest
import torch
from torch.nn import functional as F

from zoo.metrics import evaluator as ev
from zoo.metrics.blur import blur, random_blur


def test_sigma_zero_is_identity_and_constants_stay_constant():
    x = torch.randn(3, 3, 16, 16)
    assert torch.equal(blur(x, 0.0), x)
    const = torch.full((2, 3, 16, 16), 0.3)
    assert torch.allclose(blur(const, 1.2), const, atol=1e-6)


def test_matches_a_direct_2d_convolution_inside_the_image():
    x = torch.randn(2, 3, 20, 20)
    sigma, r = 1.0, 3
    t = torch.arange(-r, r + 1.0)
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k2 = (g[:, None] * g[None, :]) / g.sum() ** 2
    ref = F.conv2d(x, k2.expand(3, 1, 2 * r + 1, 2 * r + 1).contiguous(), groups=3)  # valid part
    assert torch.allclose(blur(x, sigma)[:, :, r:-r, r:-r], ref, atol=1e-5)


def test_per_image_sigma_blurs_each_image_on_its_own():
    x = torch.randn(3, 3, 16, 16)
    y = blur(x, torch.tensor([0.0, 1.0, 0.5]))
    assert torch.allclose(y[0], x[0], atol=1e-6)
    assert torch.allclose(y[1:2], blur(x[1:2], 1.0), atol=1e-6)
    assert torch.allclose(y[2:3], blur(x[2:3], 0.5), atol=1e-6)
    # blurring removes high frequencies: less variance than the white-noise input
    assert y[1].var() < 0.5 * x[1].var()


def test_random_blur_is_seeded_and_bad_input_is_an_error():
    x = torch.randn(4, 3, 16, 16)
    a = random_blur(x, 1.5, torch.Generator().manual_seed(0))
    b = random_blur(x, 1.5, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(random_blur(x, 0.0, torch.Generator()), x)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        blur(x[0], 1.0)
    with pytest.raises(ValueError, match="larger than"):
        blur(torch.randn(1, 1, 4, 4), 2.0)
    with pytest.raises(ValueError, match=">= 0"):
        random_blur(x, -1.0, torch.Generator())


def test_blur_robust_evaluator_keeps_its_accuracy_on_blurred_shapes():
    """The committed shapes_blur.pt reads blurred real shapes as their shape (its point)."""
    import zoo  # noqa: F401
    from zoo.registry import build
    path = ev.default_path("shapes_blur")
    if not path.is_file():
        pytest.skip(f"{path} not built ({ev.make_command(path)})")
    model = ev.load_evaluator(path)
    x, labels = ev.test_set(build("dataset", "shapes"), 300)
    assert ev.accuracy(model, x, labels) >= 0.95
    assert ev.accuracy(model, blur(model.images(x), 1.0), labels) >= 0.9
    assert "--blur 1.5" in ev.make_command(path)
