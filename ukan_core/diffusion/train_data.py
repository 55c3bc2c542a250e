"""Training images for a Diffusion U-KAN: read, centre-crop, resize, scale to [-1, 1], flip.

The official data tools centre-crop each image to a square and resize it to 64x64; the trainer
scales pixels to [-1, 1] and flips at random, horizontally and vertically. With `pairs=True`
the binary mask (foreground = +1, background = -1) is appended as the last channel, so the
model learns images and their masks together.

Every image is decoded once and kept in memory at the training size: 1,000 RGB images at
64x64 take 49 MB as float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import cv2
import numpy as np
import torch

from ukan_core.errors import DatasetError

TrainingSource = Union[str, os.PathLike, Sequence[Any], torch.Tensor]


def centre_square(pixels: np.ndarray, size: int, *, nearest: bool = False) -> np.ndarray:
    """The largest centred square of `pixels`, resized to `size` x `size` (area for images, nearest for masks)."""
    h, w = pixels.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = pixels[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(square)
    interpolation = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)
    return cv2.resize(square, (size, size), interpolation=interpolation)


def _image_channels(path: Path, size: int, grey: bool) -> np.ndarray:
    """(C, size, size) float32 in [-1, 1] from any image file the app reads."""
    from ukan_core.io.images import read_image, to_rgb8

    rgb = centre_square(to_rgb8(read_image(path)), size)
    if grey:
        return (cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[None].astype(np.float32) / 127.5) - 1.0
    return (rgb.transpose(2, 0, 1).astype(np.float32) / 127.5) - 1.0


def _mask_channel(path: Path, size: int) -> np.ndarray:
    from ukan_core.io.masks import read_mask

    mask = centre_square(read_mask(path), size, nearest=True)
    return np.where(mask > 0, 1.0, -1.0).astype(np.float32)[None]


def _image_files(folder: Path) -> list[Path]:
    from ukan_core.io.images import is_image_file

    root = folder / "images" if (folder / "images").is_dir() else folder
    return sorted(p for p in root.iterdir() if p.is_file() and is_image_file(p))


def load_training_images(source: TrainingSource, *, image_size: int, channels: int, pairs: bool = False) -> torch.Tensor:
    """All training samples as one (N, channels, size, size) float32 tensor in [-1, 1].

    `source` is a folder (images only: its `images/` subfolder if there is one, else its image
    files; pairs: any labelled layout `scan_labelled_folder` reads), a list of image paths, a list
    of pairs (objects with `.image` and `.mask`; for multi-class pairs that is the first class's
    mask), or a ready tensor (returned as is after a check).
    `channels` counts the mask channel when `pairs` is set: 4 = RGB + mask, 2 = grey + mask.
    """
    image_channels = channels - 1 if pairs else channels
    if image_channels not in (1, 3):
        kind = "image + mask pairs" if pairs else "images"
        raise DatasetError(f"a generator for {kind} needs {'2 or 4' if pairs else '1 or 3'} channels, this one has {channels}")
    if isinstance(source, torch.Tensor):
        if source.dim() != 4 or source.shape[1] != channels:
            raise DatasetError(f"training tensor must be (N, {channels}, H, W), got {tuple(source.shape)}")
        return source.float()
    items: Sequence[Any]
    name = "training data"
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        name = folder.name
        if not folder.is_dir():
            raise DatasetError(f"{name}: not a folder")
        if pairs:
            from ukan_core.data.folders import scan_labelled_folder

            items = scan_labelled_folder(folder)
        else:
            items = _image_files(folder)
    else:
        items = list(source)
    if not items:
        raise DatasetError(f"{name}: no {'image + mask pairs' if pairs else 'images'} found")

    samples = []
    for item in items:
        if pairs:
            image = _image_channels(Path(item.image), image_size, grey=image_channels == 1)
            samples.append(np.concatenate([image, _mask_channel(Path(item.mask), image_size)]))
        else:
            samples.append(_image_channels(Path(getattr(item, "image", item)), image_size, grey=image_channels == 1))
    return torch.from_numpy(np.stack(samples))


def random_flips(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each sample horizontally and vertically, each with probability 1/2 (the official augmentation)."""
    flip_h, flip_v = (torch.rand(2, batch.shape[0], generator=generator) < 0.5).tolist()
    out = batch.clone()
    for i, (h, v) in enumerate(zip(flip_h, flip_v)):
        dims = [d for d, f in ((-1, h), (-2, v)) if f]
        if dims:
            out[i] = torch.flip(batch[i], dims)
    return out
