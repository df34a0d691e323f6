"""Decoding one shard sample: label, JPEG check, random resized crop + flip, on the CPU or GPU.

A sample is the tar members of one key (``<key>.jpg`` + ``<key>.cls``, ``tools/make_shards.py``).
The crop box is ``torchvision.transforms.RandomResizedCrop``'s sampler (Szegedy et al. 2015,
"Going deeper with convolutions", the Inception crop):

    10 tries: area = h w U(crop_scale), aspect = exp(U(log crop_ratio)),
              (ch, cw) = round(sqrt(area / aspect)), round(sqrt(area aspect)), kept if it fits;
    else the full image clamped to crop_ratio, centred

then a bilinear, antialiased resize of the box to S x S and a horizontal flip with p = 1/2.
Evaluation (``Augment(train=False)``): the centred min(h, w) square, resized, never flipped.

    CPU: Pillow in the DataLoader workers (JPEG ``draft``: DCT downscaling to >= the crop's need),
         ``torchvision.transforms.v2.functional.resized_crop``    -> [3, S, S] uint8
    GPU: ``torchvision.io.decode_jpeg(device="cuda")`` (nvJPEG, one batched call, per-image retry
         on failure), crop / ``interpolate`` / flip on the device  -> [B', 3, S, S] uint8

The same ``Augment`` (and so the same box sampler) serves both paths.
"""
from __future__ import annotations

import io
import math
import random

import torch


def parse_label(sample: dict) -> int:
    """The class index of a sample's ``.cls`` member (KeyError / ValueError if missing or bad)."""
    if "cls" not in sample:
        raise KeyError("missing .cls")
    return int(sample["cls"].decode("ascii").strip())


def check_jpeg(data: bytes) -> None:
    """ValueError unless ``data`` starts with the JPEG SOI and has an EOI marker near its end."""
    if data[:2] != b"\xff\xd8" or b"\xff\xd9" not in data[-64:]:
        raise ValueError("not a complete JPEG (no SOI / EOI marker)")


def crop_box(h: int, w: int, scale, ratio, rng: random.Random | None) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a random resized crop (``RandomResizedCrop``'s sampler: 10
    tries at area fraction U(scale), log-uniform aspect in ratio, then the clamped full image);
    ``rng=None``: the centred square of side min(h, w)."""
    if rng is not None:
        for _ in range(10):
            area = h * w * rng.uniform(*scale)
            aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
            cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < cw <= w and 0 < ch <= h:
                return rng.randint(0, h - ch), rng.randint(0, w - cw), ch, cw
        if w / h < min(ratio):
            ch, cw = round(w / min(ratio)), w
        elif w / h > max(ratio):
            ch, cw = h, round(h * max(ratio))
        else:
            ch, cw = h, w
        return (h - ch) // 2, (w - cw) // 2, ch, cw
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side, side


class Augment:
    """Crop box and flip of one image: random (``train``) or the centred square, no flip."""

    def __init__(self, size: int, train: bool, crop_scale=(0.8, 1.0), crop_ratio=(3 / 4, 4 / 3),
                 flip: bool = True):
        self.size, self.train, self.flip = int(size), bool(train), bool(flip)
        self.crop_scale = tuple(float(v) for v in crop_scale)
        self.crop_ratio = tuple(float(v) for v in crop_ratio)

    def __call__(self, h: int, w: int, rng: random.Random) -> tuple[tuple, bool]:
        """((top, left, height, width), flip?) for an h x w image."""
        if not self.train:
            return crop_box(h, w, None, None, None), False
        box = crop_box(h, w, self.crop_scale, self.crop_ratio, rng)
        return box, self.flip and rng.random() < 0.5


def decode_cpu(data: bytes, aug: Augment, rng: random.Random, draft: bool = True) -> torch.Tensor:
    """[3, S, S] uint8: Pillow decode (JPEG ``draft``: DCT downscaling to >= the crop's need),
    crop + resize (transforms.v2, bilinear, antialiased), flip."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as F
    im = Image.open(io.BytesIO(data))
    w, h = im.size
    (top, left, ch, cw), flip = aug(h, w, rng)
    if draft and im.format == "JPEG":
        shrink = min(cw, ch) / aug.size
        im.draft("RGB", (math.ceil(w / shrink), math.ceil(h / shrink)))
        sx, sy = im.size[0] / w, im.size[1] / h
        top, left, ch, cw = int(top * sy), int(left * sx), max(1, int(ch * sy)), max(1, int(cw * sx))
    im = im.convert("RGB")
    im = F.resized_crop(im, top, left, ch, cw, [aug.size, aug.size], antialias=True)
    if flip:
        im = F.horizontal_flip(im)
    return F.pil_to_tensor(im)


def decode_gpu(datas: list[torch.Tensor], aug: Augment, rng: random.Random,
               device) -> tuple[torch.Tensor, torch.Tensor, dict[int, str]]:
    """([B', 3, S, S] uint8 on ``device``, kept [B'] row indices, {row: error} of the dropped)
    from JPEG byte tensors [n_i]: one batched nvJPEG call, per-image retry when it fails;
    crop / resize (bilinear, antialiased) / flip on the GPU."""
    from torchvision.io import ImageReadMode, decode_jpeg
    try:
        images = decode_jpeg(datas, mode=ImageReadMode.RGB, device=device)
        keep, failed = list(range(len(datas))), {}
    except RuntimeError:
        images, keep, failed = [], [], {}
        for i, d in enumerate(datas):
            try:
                images.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
                keep.append(i)
            except RuntimeError as err:
                failed[i] = f"nvJPEG: {err}"
    out = torch.empty(len(images), 3, aug.size, aug.size, dtype=torch.uint8, device=device)
    for j, img in enumerate(images):
        (top, left, ch, cw), flip = aug(img.shape[1], img.shape[2], rng)
        crop = img[None, :, top:top + ch, left:left + cw].float()
        crop = torch.nn.functional.interpolate(crop, size=(aug.size, aug.size), mode="bilinear",
                                               antialias=True, align_corners=False)
        out[j] = (crop[0].flip(-1) if flip else crop[0]).round_().clamp_(0, 255).byte()
    return out, torch.tensor(keep, dtype=torch.long), failed
