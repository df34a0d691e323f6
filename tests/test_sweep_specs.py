"""Every committed sweep file's runs parse as gin configs: a binding that names no component, or
an ambiguous one (``@constant()`` matches both ``schedule.constant`` and ``gin.constant``), fails
here instead of failing every run of the sweep at its start."""
from pathlib import Path

import gin
import pytest

from zoo.config import parse
from zoo.sweeps.load import build_sweep

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gin" / "sweeps").glob("*.py"))


@pytest.mark.parametrize("spec", SPECS)
def test_every_run_of_a_sweep_file_parses(spec, tmp_path):
    sweep = build_sweep(spec)
    for point in sweep.points(tmp_path):
        gin.clear_config()
        try:
            parse(sweep.gin_files, sweep.params + point.params())
        except Exception as err:  # noqa: BLE001 -- report which run and why
            pytest.fail(f"{spec}, run {point.name}: {err}")
    gin.clear_config()


def test_an_ambiguous_binding_is_caught():
    with pytest.raises(Exception, match="Ambiguous selector 'constant'"):
        parse(["gin/experiments/digits.gin"], ["train.lr_schedule = @constant()"])
    gin.clear_config()
