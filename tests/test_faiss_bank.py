"""FAISS-truncated positive banks: exact k-NN, convergence to the full-bank field, loading, errors."""
import tarfile

import numpy as np
import pytest
import torch

pytest.importorskip("faiss")

from zoo import fields, kernels  # noqa: E402
from zoo.positives.bank_reference import exact_meanshift, exact_split  # noqa: E402
from zoo.positives.faiss_bank import PositiveBank, gpu_available  # noqa: E402
from zoo.positives.knn_positives import knn_positives, knn_split  # noqa: E402


def _clustered(m, d, seed, modes=8, std=0.3):
    """[m, d] float32 Gaussian-mixture rows."""
    g = torch.Generator().manual_seed(seed)
    means = 2.0 * torch.randn(modes, d, generator=g)
    return means[torch.randint(modes, (m,), generator=g)] + std * torch.randn(m, d, generator=g)


def _rel(v, ref):
    return ((v - ref).norm() / ref.norm()).item()


@pytest.fixture(scope="module")
def small():
    """bank [400, 4] and x [1, 32, 4] drawn near it."""
    return _clustered(400, 4, 0), _clustered(32, 4, 0)[None] + 0.2


def test_flat_index_is_exact_knn(small):
    feats, x = small
    bank = PositiveBank(feats, "flat", device="cpu")
    dist, idx = bank.search(x[0], 10)
    ref = torch.cdist(x[0], feats).topk(10, largest=False)
    assert torch.equal(idx, ref.indices)
    torch.testing.assert_close(dist, ref.values ** 2, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kname", ["laplace", "gaussian"])
def test_union_split_converges_and_is_exact_at_k_equals_m(small, kname):
    feats, x = small
    bank = PositiveBank(feats, "flat", device="cpu")
    k = kernels.laplace(tau=0.5) if kname == "laplace" else kernels.gaussian(tau=0.5)
    exact = exact_split(x, bank, kernel=k, block=64)
    whole = fields.split(x, feats[None], kernel=k)
    torch.testing.assert_close(exact, whole, rtol=1e-4, atol=1e-5)
    errors = []
    for kk in (4, 16, 64, len(feats)):
        pos, w = knn_positives(bank, x, kk)
        errors.append(_rel(fields.split(x, pos, kernel=k, pos_w=w), exact))
    assert errors == sorted(errors, reverse=True) and errors[0] > 1e-3
    assert errors[-1] < 1e-5


def test_per_row_split_converges_and_is_never_better_than_union(small):
    feats, x = small
    bank = PositiveBank(feats, "flat", device="cpu")
    k = kernels.laplace(tau=0.5)
    exact = exact_split(x, bank, kernel=k)
    per_row = [_rel(knn_split(x, bank, kernel=k, k=kk), exact) for kk in (4, 16, 64, 400)]
    assert per_row == sorted(per_row, reverse=True) and per_row[-1] < 1e-5
    pos, w = knn_positives(bank, x, 16)
    assert _rel(fields.split(x, pos, kernel=k, pos_w=w), exact) <= per_row[1] + 1e-6


@pytest.mark.parametrize("floor", [0.0, 1e-6])
def test_streamed_meanshift_equals_the_whole_bank_field(small, floor):
    feats, x = small
    bank = PositiveBank(feats, "flat", device="cpu")
    neg = _clustered(20, 4, 3)[None]
    k = kernels.laplace(tau=0.4)
    ref = fields.meanshift(x, feats[None], neg, kernel=k, affinity_floor=floor)
    got = exact_meanshift(x, bank, neg, kernel=k, affinity_floor=floor, block=96)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)
    pos, w = knn_positives(bank, x, len(feats))
    torch.testing.assert_close(fields.meanshift(x, pos, neg, kernel=k, pos_w=w,
                                                affinity_floor=floor), ref, rtol=1e-4, atol=1e-6)


def test_per_class_banks_pad_with_zero_weight(small):
    feats, x = small
    banks = {3: PositiveBank(feats[:200], device="cpu"), 7: PositiveBank(feats[200:], device="cpu")}
    xx = torch.cat([x, x + 0.5])
    pos, w = knn_positives(banks, xx, 8, classes=[7, 3])
    k = kernels.laplace(tau=0.5)
    for g, c in enumerate((7, 3)):
        solo, _ = knn_positives(banks[c], xx[g:g + 1], 8)
        assert int(w[g].sum()) == solo.shape[1]
        torch.testing.assert_close(fields.split(xx[g:g + 1], pos[g:g + 1], kernel=k, pos_w=w[g:g + 1]),
                                   fields.split(xx[g:g + 1], solo, kernel=k))
    with pytest.raises(ValueError, match="classes"):
        knn_positives(banks, xx, 8)
    with pytest.raises(ValueError, match=r"no positive bank for class 5; .*\[3, 7\]"):
        knn_positives(banks, xx, 8, classes=[5, 3])


def test_npy_dir_glob_and_tar_shards_give_the_same_bank(tmp_path, small):
    feats = small[0].numpy()
    np.save(tmp_path / "all.npy", feats)
    shard_dir = tmp_path / "shards"
    shard_dir.mkdir()
    for i, part in enumerate(np.array_split(feats, 3)):
        np.save(shard_dir / f"part-{i:03d}.npy", part)
    with tarfile.open(tmp_path / "bank.tar", "w") as tar:
        for p in sorted(shard_dir.iterdir()):
            tar.add(p, arcname=p.name)
    banks = [PositiveBank(tmp_path / "all.npy"), PositiveBank.from_shards(shard_dir),
             PositiveBank.from_shards(str(shard_dir / "part-*.npy")),
             PositiveBank.from_shards(tmp_path / "bank.tar")]
    for bank in banks:
        np.testing.assert_array_equal(np.asarray(bank.features), feats)


def test_bad_banks_are_refused_with_the_fix(tmp_path, small):
    feats = small[0].clone()
    with pytest.raises(ValueError, match="NaN or inf"):
        PositiveBank(torch.cat([feats, torch.full((1, 4), float("nan"))]))
    with pytest.raises(ValueError, match="row 5 has NaN or inf"):
        PositiveBank(feats.index_fill(0, torch.tensor([5]), float("inf")))
    with pytest.raises(ValueError, match="D=4 but dim=64"):
        PositiveBank(feats, dim=64)
    with pytest.raises(ValueError, match="empty"):
        PositiveBank(np.zeros((0, 4), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        PositiveBank(feats[None])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PositiveBank(tmp_path / "missing.npy")
    with pytest.raises(FileNotFoundError, match="no bank shards"):
        PositiveBank.from_shards(tmp_path / "nothing-*.npy")
    np.save(tmp_path / "a.npy", feats.numpy())
    np.save(tmp_path / "b.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="b.npy.*D=5 but dim=4"):
        PositiveBank.from_shards(tmp_path)
    bank = PositiveBank(feats, device="cpu")
    with pytest.raises(ValueError, match="k=401 .* M=400"):
        bank.search(feats[:2], 401)
    with pytest.raises(ValueError, match=r"\[n, 4\]"):
        bank.search(torch.zeros(2, 3), 4)
    with pytest.raises(ValueError, match="index must be one of"):
        PositiveBank(feats, "lsh", device="cpu")


@pytest.mark.parametrize("kind,kw,bound", [("ivf", {"nlist": 16, "nprobe": 4}, 0.9),
                                           ("hnsw", {"hnsw_m": 16, "ef_search": 64}, 0.95)])
def test_approximate_indexes_recall(kind, kw, bound):
    rows = _clustered(4064, 16, 1, modes=16)
    feats, x = rows[:4000], rows[4000:]  # queries from the bank's distribution
    bank = PositiveBank(feats, kind, device="cpu", **kw)
    _, idx = bank.search(x, 16)
    ref = torch.cdist(x, feats).topk(16, largest=False).indices
    recall = np.mean([len(set(a.tolist()) & set(b.tolist())) / 16 for a, b in zip(idx, ref)])
    assert recall > bound
    _, again = PositiveBank(feats, kind, device="cpu", **kw).search(x, 16)
    assert torch.equal(idx, again)  # seeded build (single OpenMP thread in tests)


def test_cuda_requested_without_gpu_faiss_is_refused(small):
    if gpu_available():
        pytest.skip("GPU faiss present")
    with pytest.raises(ValueError, match="faiss with GPU support"):
        PositiveBank(small[0], device="cuda")


@pytest.mark.skipif(not gpu_available(), reason="needs faiss-gpu and CUDA")
@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_gpu_index_matches_cpu(small, kind):
    feats, x = small
    cpu = PositiveBank(feats, kind, device="cpu", nlist=8, nprobe=8)
    gpu = PositiveBank(feats, kind, device="cuda", nlist=8, nprobe=8)
    assert gpu.device == "cuda"
    assert torch.equal(cpu.search(x[0], 8)[1], gpu.search(x[0].cuda(), 8)[1].cpu())
