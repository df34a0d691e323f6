"""Streaming WebDataset tar shards (``tools/make_shards.py``): the loader behind ``webdataset``.

Shard URLs (a folder, globs, brace ranges ``shard-{000000..000099}.tar``, ``::``-joined lists)
-> batches ``(x [B, 3, S, S] float in [-1, 1], labels [B] int64)``:

    urls.py    which shards one (rank, worker) reads per epoch (disjoint, or resampled), and the
               sample shuffle buffer; every random choice seeded by (seed, epoch, rank, worker)
    decode.py  one sample -> label + random resized crop / flip, Pillow on the CPU or nvJPEG on
               the GPU (``torchvision.io.decode_jpeg``), the same box sampler for both
    stream.py  ``ShardStream``: the DataLoader-worker side (read, decode, count corrupt, collate);
               ``Corruption`` / ``CorruptDataError`` for the corrupt-sample fraction
    loader.py  ``WebLoader``: the main-process side (DataLoader, GPU decode, [-1, 1] scaling)

The registered dataset that streams these batches into sample banks is
``zoo.data.webdataset`` (file = class = registry key).
"""
from zoo.data.shards.decode import (Augment, check_jpeg, crop_box, decode_cpu, decode_gpu,
                                   parse_label)
from zoo.data.shards.loader import WebLoader, resolve_device
from zoo.data.shards.stream import CorruptDataError, Corruption, ShardStream
from zoo.data.shards.urls import (dist_info, epoch_shards, expand_urls, read_manifest, shuffled,
                                  worker_info)

__all__ = ["Augment", "CorruptDataError", "Corruption", "ShardStream", "WebLoader", "check_jpeg",
           "crop_box", "decode_cpu", "decode_gpu", "dist_info", "epoch_shards", "expand_urls",
           "parse_label", "read_manifest", "resolve_device", "shuffled", "worker_info"]
