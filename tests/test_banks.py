"""Sample banks (release memory_bank.py semantics): ring order and overwrite, per-class
isolation, the global ring, sampling with/without replacement, state round trip, errors."""
from __future__ import annotations

import io

import pytest
import torch

from zoo.positives.rings import SampleBanks


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Sequential:
    """The release's push loop, item by item, as the oracle."""

    def __init__(self, k, size):
        self.size, self.bank = size, [[None] * size for _ in range(k)]
        self.ptr, self.count = [0] * k, [0] * k

    def push(self, items, labels):
        for item, c in zip(items, labels.tolist()):
            self.bank[c][self.ptr[c]] = item.clone()
            self.ptr[c] = (self.ptr[c] + 1) % self.size
            self.count[c] = min(self.count[c] + 1, self.size)


def test_ring_order_and_overwrite_match_the_sequential_loop():
    banks, oracle = SampleBanks(4, per_class=5, global_size=7, item_shape=(3,)), Sequential(4, 5)
    g = _gen(0)
    for step in range(6):  # batches with repeated classes, more items of a class than slots
        n = int(torch.randint(1, 14, (1,), generator=g))
        labels = torch.randint(4, (n,), generator=g)
        items = torch.randn(n, 3, generator=g)
        banks.push(items, labels)
        oracle.push(items, labels)
        assert banks.ptr.tolist() == oracle.ptr and banks.count.tolist() == oracle.count
        for c in range(4):
            for s in range(oracle.count[c]):
                assert torch.equal(banks.bank[c, s], oracle.bank[c][s])


def test_global_ring_and_fill_order():
    banks = SampleBanks(2, per_class=3, global_size=4)
    banks.push(torch.tensor([1.0, 2.0]), torch.tensor([0, 1]))
    assert banks.global_bank.tolist() == [1, 2, 0, 0] and int(banks.global_count) == 2
    banks.push(torch.tensor([3.0, 4.0, 5.0]), torch.tensor([1, 1, 0]))
    assert banks.global_bank.tolist() == [5, 2, 3, 4] and int(banks.global_ptr) == 1
    assert banks.bank[0].tolist() == [1, 5, 0] and banks.bank[1].tolist() == [2, 3, 4]
    banks.push(torch.tensor([9.0]), torch.tensor([1]), to_global=False)
    assert banks.bank[1].tolist() == [9, 3, 4] and banks.global_bank.tolist() == [5, 2, 3, 4]


def test_per_class_isolation_and_sampling():
    banks = SampleBanks(3, per_class=8, global_size=16)
    for c in range(3):  # class c holds values 100c + i
        banks.push(100.0 * c + torch.arange(8.0), torch.full((8,), c))
    out = banks.sample(torch.tensor([2, 0, 2]), 5, _gen(0))
    assert out.shape == (3, 5)
    for row, c in zip(out, (2, 0, 2)):
        assert ((row >= 100 * c) & (row < 100 * c + 8)).all()
        assert len(set(row.tolist())) == 5  # count >= n: without replacement
    full = banks.sample(torch.tensor([1]), 8, _gen(1))[0]
    assert sorted(full.tolist()) == [100.0 + i for i in range(8)]  # a permutation of the ring
    more = banks.sample(torch.tensor([1]), 20, _gen(2))[0]  # n > count: with replacement
    assert set(more.tolist()) <= set(full.tolist())
    glob = banks.sample_global(10, _gen(3))
    assert glob.shape == (10,) and set(glob.tolist()) <= set(banks.global_bank.tolist())
    assert len(set(glob.tolist())) == 10


def test_partial_buffers_sample_only_filled_slots():
    banks = SampleBanks(2, per_class=64, global_size=512, item_shape=(2,))
    banks.push(torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), torch.tensor([0, 0, 0]))
    out = banks.sample(torch.tensor([0]), 2, _gen(0))[0]  # 3 >= 2: distinct, from the 3
    assert len({tuple(r) for r in out.tolist()}) == 2
    out = banks.sample(torch.tensor([0]), 50, _gen(0))[0]  # 3 < 50: with replacement
    assert {tuple(r) for r in out.tolist()} == {(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)}
    assert banks.sample_global(40, _gen(1)).abs().min() >= 1  # never an unfilled (zero) slot


def test_images_and_dtype():
    banks = SampleBanks(10, per_class=4, global_size=8, item_shape=(3, 8, 8), dtype=torch.uint8)
    items = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8, generator=_gen(0))
    banks.push(items, torch.arange(20) % 10)
    out = banks.sample(torch.arange(10), 2, _gen(0))
    assert out.shape == (10, 2, 3, 8, 8) and out.dtype == torch.uint8
    assert banks.sample_global(5, _gen(0)).shape == (5, 3, 8, 8)


def test_state_round_trip_gives_identical_future_samples():
    def run(banks, steps, g):
        outs = []
        for _ in range(steps):
            labels = torch.randint(5, (12,), generator=g)
            banks.push(torch.randn(12, 4, generator=g), labels)
            outs.append(banks.sample(labels[:3], 6, g))
            outs.append(banks.sample_global(6, g))
        return outs

    a, g = SampleBanks(5, per_class=6, global_size=10, item_shape=(4,)), _gen(0)
    run(a, 3, g)
    buf = io.BytesIO()
    torch.save({"banks": a.state_dict(), "rng": g.get_state()}, buf)
    expected = run(a, 4, g)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    b, g2 = SampleBanks(5, per_class=6, global_size=10, item_shape=(4,)), torch.Generator()
    b.load_state_dict(saved["banks"])
    g2.set_state(saved["rng"])
    for x, y in zip(expected, run(b, 4, g2)):
        assert torch.equal(x, y)
    with pytest.raises(ValueError, match="these banks need"):
        SampleBanks(5, per_class=7, global_size=10, item_shape=(4,)).load_state_dict(a.state_dict())


def test_errors():
    banks = SampleBanks(3, per_class=2, global_size=2, item_shape=(2,))
    with pytest.raises(ValueError, match="global bank is empty"):
        banks.sample_global(1, _gen(0))
    banks.push(torch.zeros(2, 2), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"no items of class\(es\) \[1, 2\]"):
        banks.sample(torch.tensor([0, 1, 2]), 1, _gen(0))
    with pytest.raises(ValueError, match=r"unknown class\(es\) \[3\]"):
        banks.sample(torch.tensor([3]), 1, _gen(0))
    with pytest.raises(ValueError, match=r"unknown class\(es\) \[-1\]"):
        banks.push(torch.zeros(1, 2), torch.tensor([-1]))
    with pytest.raises(ValueError, match="expected"):
        banks.push(torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="positive integer"):
        SampleBanks(0)
