"""curves.png: the raw drift per temperature comes first, the flat normalised loss is explained."""
import math

import gin
import matplotlib.pyplot as plt
import pytest

from zoo.run.plots import LOSS_NOTE, curves_figure, curves_png, loss_is_normalised, per_temperature


def _records(encoder: bool = False):
    """A run whose normalised loss is flat (~7.3) while the raw drift and FD fall."""
    out = []
    for step in range(10, 110, 10):
        raw = {t: 2.0 * t ** 0.5 / step for t in (0.02, 0.05, 0.2)}
        if encoder:  # two feature sets, each with its own per-temperature RMS
            rec = {f"{s}/drift_rms/{t:g}": v for s in ("global", "layer1") for t, v in raw.items()}
        else:
            rec = {f"drift_rms/{t:g}": v for t, v in raw.items()}
        total = math.sqrt(sum(v * v for v in raw.values()) * (2 if encoder else 1))
        out.append({"kind": "train", "step": step, "loss": 7.3, "drift_rms": total, **rec})
        if step % 50 == 0:
            out.append({"kind": "eval", "step": step, "fd": 2414.0 / step, "class_accuracy": 0.9})
    return out


@pytest.mark.parametrize("encoder", [False, True])
def test_per_temperature_raw_drift_is_gathered_over_feature_sets(encoder):
    lines = per_temperature([r for r in _records(encoder) if r["kind"] == "train"])
    assert list(lines) == ["0.02", "0.05", "0.2"]
    step, value = lines["0.2"][0]
    want = 2.0 * 0.2 ** 0.5 / 10 * (math.sqrt(2) if encoder else 1)
    assert step == 10 and value == pytest.approx(want)


def test_raw_drift_first_then_the_loss_with_its_note(tmp_path):
    fig = curves_figure(_records(encoder=True))
    axes = fig.axes
    assert axes[0].get_title() == "raw drift RMS per temperature"
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert labels == ["tau 0.02", "tau 0.05", "tau 0.2", "all"]
    assert axes[0].get_yscale() == "log"
    assert axes[1].get_title() == "loss (normalised)"
    assert [t.get_text() for t in axes[1].texts] == [LOSS_NOTE]
    assert "unit RMS" in LOSS_NOTE
    assert [ax.get_title() for ax in axes[2:4]] == ["class_accuracy", "fd"]
    plt.close(fig)
    curves_png(tmp_path / "curves.png", _records())
    assert plt.imread(tmp_path / "curves.png").ndim == 3


def test_raw_per_temperature_loss_carries_no_note():
    """The toy recipe (drift.combine = 'per_temperature') has a raw loss that does fall."""
    fig = curves_figure(_records(), normalised=False)
    assert fig.axes[1].get_title() == "loss" and not fig.axes[1].texts
    plt.close(fig)


def test_normalisation_is_read_from_the_gin_config():
    gin.clear_config()
    try:
        assert loss_is_normalised()  # drift's default: normalized_sum
        gin.parse_config("drift.combine = 'per_temperature'")
        assert not loss_is_normalised()
    finally:
        gin.clear_config()
