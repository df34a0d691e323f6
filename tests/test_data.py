"""Datasets: the protocol for every registered dataset (those needing arguments built from a
small fixture, ``needs_args``), toy geometry, and the points file."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import zoo  # noqa: F401  (registers everything)
import zoo.data  # noqa: F401  (in case the package does not import it yet)
from zoo.data import Dataset, check_dataset
from zoo.data.points import split_rows
from zoo.registry import build, lookup, names

N = 2000
DATASETS = names("dataset")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _blob(tmp_path) -> dict:
    """points: a 2-D Gaussian blob of 500 rows saved as .npy."""
    rng = np.random.default_rng(0)
    return {"path": _save(tmp_path, rng.normal(scale=0.4, size=(500, 2)))}


def _tree(tmp_path) -> dict:
    """image_folder: three classes of four 8x8 PNGs."""
    from tests.test_images_data import write_tree

    return {"root": write_tree(tmp_path, size=8), "size": 8, "held_out_fraction": 0.25,
            "cache": True}


# dataset -> writes its required arguments' source under a tmp folder and returns them, or a
# str: why this file does not build it (the skip reason, with the arguments named)
FIXTURES = {"points": _blob, "image_folder": _tree,
            "webdataset": "it streams shards into banks, so two draws with one seed differ by "
                          "design; tests/test_webdataset.py covers it"}


def make_dataset(name: str, cls, tmp_path, fixtures=FIXTURES) -> Dataset:
    """Build ``cls`` (registered as ``name``): with no arguments, or, when it declares
    ``needs_args``, from ``fixtures[name]`` -- skipped, naming the arguments, without one.
    Any TypeError from the constructor propagates: a broken dataset fails, never skips."""
    needs = tuple(getattr(cls, "needs_args", ()))
    kwargs = {}
    if needs:
        fixture = fixtures.get(name, "tests/test_data.py has no fixture for it (add one to "
                                     "FIXTURES)")
        if isinstance(fixture, str):
            pytest.skip(f"dataset '{name}' needs arguments {needs}: {fixture}")
        kwargs = fixture(tmp_path)
        missing = sorted(set(needs) - set(kwargs))
        assert not missing, f"FIXTURES['{name}'] does not give {missing}"
    return cls(**kwargs)


@pytest.fixture(scope="module")
def _build(tmp_path_factory):
    """name -> dataset, built once per module (file-backed sets from a tiny source)."""
    built: dict[str, Dataset] = {}

    def make(name: str) -> Dataset:
        if name not in built:
            built[name] = make_dataset(name, lookup("dataset", name),
                                       tmp_path_factory.mktemp(name))
        return built[name]

    return make


def test_needs_args_are_the_required_constructor_arguments():
    """``needs_args`` says exactly which constructor arguments have no default."""
    for name in DATASETS:
        cls = lookup("dataset", name)
        params = inspect.signature(cls.__init__).parameters.values()
        required = tuple(p.name for p in params if p.name != "self" and p.default is p.empty
                         and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        assert tuple(cls.needs_args) == required, name


def test_a_constructor_type_error_fails_and_a_missing_fixture_skips(tmp_path):
    class broken(Dataset):
        def __init__(self):
            raise TypeError("unexpected keyword argument 'sizee'")

    class needy(Dataset):
        needs_args = ("corpus",)

        def __init__(self, corpus):
            self.corpus = corpus

    with pytest.raises(TypeError, match="sizee"):  # a regression, not a skip
        make_dataset("broken", broken, tmp_path)
    with pytest.raises(pytest.skip.Exception, match=r"needs arguments \('corpus',\)"):
        make_dataset("needy", needy, tmp_path)
    assert make_dataset("needy", needy, tmp_path, {"needy": lambda _: {"corpus": 1}}).corpus == 1
    with pytest.raises(AssertionError, match="does not give"):
        make_dataset("needy", needy, tmp_path, {"needy": lambda _: {}})


# ----------------------------------------------------------------------------- every dataset

@pytest.mark.parametrize("name", DATASETS)
def test_protocol(name, _build):
    ds = _build(name)
    assert ds.name == name
    x = ds.sample(N, _gen(0))
    assert x.shape == (N, ds.dim) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    assert x.abs().max() < 3.0, "samples should stay within a sane O(1) box"
    spread = x.std(dim=0)  # images: some pixels may be constant (digits' borders)
    assert (spread.min() if ds.shape is None else spread.mean()) > 0.1, \
        "samples should spread at O(1) scale"
    if ds.shape is not None:  # image datasets: flat rows of [C, H, W] images in [-1, 1]
        assert len(ds.shape) == 3 and ds.dim == ds.shape[0] * ds.shape[1] * ds.shape[2]
        assert x.min() >= -1 and x.max() <= 1
    check_dataset(ds)


@pytest.mark.parametrize("name", DATASETS)
def test_determinism(name, _build):
    ds = _build(name)
    a, b = ds.sample(64, _gen(1)), ds.sample(64, _gen(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, ds.sample(64, _gen(2)))
    g = _gen(1)  # consecutive draws advance the generator and differ
    assert not torch.equal(ds.sample(64, g), ds.sample(64, g))


@pytest.mark.parametrize("name", DATASETS)
def test_only_the_passed_generator(name, _build):
    ds = _build(name)
    torch.manual_seed(123)
    a = ds.sample(32, _gen(5))
    torch.manual_seed(456)  # the global RNG must not matter
    assert torch.equal(a, ds.sample(32, _gen(5)))


@pytest.mark.parametrize("name", DATASETS)
def test_held_out(name, _build):
    ds = _build(name)
    h = ds.held_out(256)
    assert h.shape == (256, ds.dim) and torch.isfinite(h).all()
    assert torch.equal(h, ds.held_out(256))
    assert not torch.equal(h, ds.sample(256, _gen(0)))


@pytest.mark.parametrize("name", DATASETS)
def test_mixture_samples_near_modes(name, _build):
    ds = _build(name)
    if ds.modes is None:
        assert ds.mode_std is None
        return
    assert ds.modes.shape[1] == ds.dim and ds.mode_std > 0
    dist = torch.cdist(ds.sample(N, _gen(0)), ds.modes).min(dim=1).values
    assert (dist < 5 * ds.mode_std).all()


# ----------------------------------------------------------------------------- toy geometry

def test_grid_gaussians_modes_and_balance():
    ds = build("dataset", "grid_gaussians")
    axis = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert ds.modes.shape == (25, 2) and ds.mode_std == 0.02
    assert set(ds.modes.flatten().tolist()) == set(axis.tolist())
    x = ds.sample(5000, _gen(0))
    dist, k = torch.cdist(x, ds.modes).min(dim=1)
    assert (dist < 4 * ds.mode_std).float().mean() > 0.99  # P(|e| > 4 std) = exp(-8) in 2-D
    counts = torch.bincount(k, minlength=25)
    assert counts.min() > 120 and counts.max() < 280  # 200 expected, sd ~14


def test_eight_gaussians_modes():
    ds = build("dataset", "eight_gaussians")
    assert ds.modes.shape == (8, 2)
    assert torch.allclose(ds.modes.norm(dim=1), torch.full((8,), 2.0))


def test_checkerboard_black_squares_only():
    x = build("dataset", "checkerboard").sample(N, _gen(0))
    assert (x >= -2).all() and (x < 2).all()
    cell = torch.floor(x + 2).long()  # [N, 2] column i, row j in 0..3
    assert ((cell[:, 0] + cell[:, 1]) % 2 == 0).all()
    assert len(set(map(tuple, cell.tolist()))) == 8


def test_rings_mass_proportional_to_radius():
    ds = build("dataset", "rings")
    r = ds.sample(4000, _gen(0)).norm(dim=1)
    ring = torch.round(r / 0.5).long() - 1  # radii 0.5, 1, 1.5, 2
    frac = torch.bincount(ring, minlength=4).float() / len(r)
    assert torch.allclose(frac, torch.tensor([0.1, 0.2, 0.3, 0.4]), atol=0.03)


def test_check_dataset_rejects_broken():
    class broken(Dataset):
        def __init__(self, out):
            self.out = out

        def sample(self, n, generator):
            return self.out(n)

    with pytest.raises(ValueError, match="non-finite|NaN"):
        check_dataset(broken(lambda n: torch.full((n, 2), float("nan"))))
    with pytest.raises(ValueError, match="shape"):
        check_dataset(broken(lambda n: torch.zeros(n, 3)))
    with pytest.raises(ValueError, match="empty"):
        check_dataset(broken(lambda n: torch.zeros(0, 2)))


# ----------------------------------------------------------------------------- points file

def _save(tmp_path, array, name="pts.npy"):
    path = tmp_path / name
    np.save(path, array)
    return str(path)


def test_points_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    array = rng.normal(size=(50, 3))  # float64 -> float32
    ds = build("dataset", "points", path=_save(tmp_path, array))
    assert ds.dim == 3 and ds.name == "points" and ds.modes is None
    assert len(ds.train_index) == 40 and len(ds.held_index) == 10
    assert not set(ds.train_index.tolist()) & set(ds.held_index.tolist())
    x = ds.sample(100, _gen(0))
    assert x.shape == (100, 3) and x.dtype == torch.float32
    assert torch.equal(x, ds.sample(100, _gen(0)))
    data = torch.from_numpy(array.astype(np.float32))
    train_rows = {tuple(r) for r in data[ds.train_index].tolist()}
    held_rows = {tuple(r) for r in data[ds.held_index].tolist()}
    assert {tuple(r) for r in x.tolist()} <= train_rows
    h = ds.held_out(8)
    assert h.shape == (8, 3) and len({tuple(r) for r in h.tolist()}) == 8  # distinct rows
    assert {tuple(r) for r in h.tolist()} <= held_rows
    assert {tuple(r) for r in ds.held_out(30).tolist()} <= held_rows  # with replacement
    assert torch.equal(h, ds.held_out(8))
    check_dataset(ds)


def test_points_small_and_int(tmp_path):
    ds = build("dataset", "points", path=_save(tmp_path, np.arange(8).reshape(4, 2)))
    assert ds.data.dtype == torch.float32 and ds.dim == 2
    train, held = split_rows(4)
    assert torch.equal(train, held)  # N < 10: held_out uses every row
    assert ds.held_out(4).shape == (4, 2)


def _write_npz(path):
    with open(path, "wb") as fh:  # a path string would get ".npz" appended
        np.savez(fh, a=np.zeros((5, 2)))


BAD = {
    "not_npy": (lambda p: p.write_text("1,2\n3,4\n"), "could not be loaded as a .npy"),
    "npz": (_write_npz, "npz"),
    "one_d": (lambda p: np.save(p, np.zeros(5)), "2-D"),
    "three_d": (lambda p: np.save(p, np.zeros((5, 2, 2))), "2-D"),
    "strings": (lambda p: np.save(p, np.array([["a", "b"], ["c", "d"]])), "not a numeric"),
    "bool": (lambda p: np.save(p, np.ones((5, 2), dtype=bool)), "not a numeric"),
    "complex": (lambda p: np.save(p, np.ones((5, 2), dtype=complex)), "not a numeric"),
    "nan_rows": (lambda p: np.save(p, np.array([[0.0, 1], [np.nan, 1], [2, np.inf], [3, 4]])),
                 "non-finite values .* in 2 of 4 rows"),
    "one_row": (lambda p: np.save(p, np.zeros((1, 2))), "at least 2"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_points_bad_input(tmp_path, case):
    write, message = BAD[case]
    path = tmp_path / "bad.npy"
    write(path)
    with pytest.raises(ValueError, match=message):
        build("dataset", "points", path=str(path))


def test_points_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build("dataset", "points", path=str(tmp_path / "nope.npy"))
