"""The committed shapes encoders (results/encoders/mae_shapes_cls.pt, the default of
gin/experiments/shapes.gin, and mae_shapes_cls_4000.pt, the same trained 2.7x longer, the
alternative of results/images.md; issue 15): they load with the architecture of their .json and their
deepest pooled features carry the class that pixels do not, which is why they are used."""
import gin
import pytest
import torch

import zoo
from zoo.config import parse

PATH = "results/encoders/mae_shapes_cls.pt"
LONGER = "results/encoders/mae_shapes_cls_4000.pt"


def test_shapes_gin_drifts_through_the_committed_encoder_with_guidance():
    """The default recipe of results/images.md: this encoder, and CFG negatives (the one lever
    of gin/sweeps/shapes_study.py that helped on both seeds) with their unconditional reals."""
    parse(["gin/experiments/shapes.gin"], [])
    try:
        assert gin.query_parameter("mae.path") == PATH
        assert gin.query_parameter("train.encoder").configurable.name == "mae"
        assert gin.query_parameter("train.negatives").configurable.name == "cfg"
        assert gin.query_parameter("train.uncond_per_class") == 16
        alphas = gin.query_parameter("cfg.alpha_min"), gin.query_parameter("cfg.alpha_max")
        assert alphas == (1.0, 4.0)
    finally:
        gin.clear_config()


def _nearest_class_mean(z: torch.Tensor, labels: torch.Tensor) -> float:
    """Held-out accuracy of the nearest class mean (first half fits, second half scores)."""
    half = len(z) // 2
    means = torch.stack([z[:half][labels[:half] == c].mean(0) for c in range(6)])
    return (torch.cdist(z[half:], means).argmin(1) == labels[half:]).float().mean().item()


@pytest.mark.parametrize("path", [PATH, LONGER])
def test_its_deep_features_separate_the_shapes_pixels_do_not(path):
    ds = zoo.build("dataset", "shapes")
    labels = torch.arange(300) % 6
    x = ds.sample_class(labels, torch.Generator().manual_seed(0))
    with torch.no_grad():
        sets = zoo.build("encoder", "mae", path=path)(x)
    assert len(sets) == 35 and sets["layer4_mean"].shape == (300, 1, 128)
    assert _nearest_class_mean(sets["layer4_mean"].flatten(1), labels) > 0.9   # measured 0.993 for both
    assert _nearest_class_mean(sets["global"].flatten(1), labels) < 0.4         # chance 0.167
