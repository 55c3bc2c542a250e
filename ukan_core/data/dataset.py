"""`SegmentationDataset`: labelled pairs as network-ready tensors, decoded once and cached."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ukan_core.data.augment import augment_pair
from ukan_core.data.folders import Pair, load_pair
from ukan_core.preprocess import Preprocessing, prepare


class SegmentationDataset(Dataset):
    """(image (C, h, w) float32, mask (num_classes, h, w) float32 0/1) at the preprocessing's input size.

    Images are resized as the official pipeline does (bilinear image, nearest mask) and then
    normalised by `ukan_core.preprocess.prepare`, so training sees exactly what inference sees.
    Decoded, resized pairs are cached in memory (uint8), so epochs do not re-read files.
    With `augment`, each item gets a random rot90/flip/intensity change drawn from a generator
    seeded by (seed, epoch, index) — call `set_epoch` each epoch for fresh draws that are still
    reproducible.
    With fit "pad" the pairs are still resized to `input_size` (a batch needs one size); the
    padding then only applies at inference to images of other sizes. A mask whose size differs
    from its image raises DatasetError naming both files (when the pair is first read).
    `affine` adds small random rotations, scalings and shifts to the augmentation. With
    `weights` (one per pair, e.g. below 1 for masks a user only accepted rather than corrected)
    each item is (image, mask, weight) and the loss weighs that pair's pixels by it.
    """

    def __init__(self, pairs: Sequence[Pair], preprocessing: Preprocessing, *, augment: bool = False,
                 seed: int = 0, cache: bool = True, num_classes: int = 1, input_channels: int = 3,
                 affine: bool = False, weights: Sequence[float] | None = None) -> None:
        self.pairs = list(pairs)
        if weights is not None and len(weights) != len(self.pairs):
            raise ValueError(f"{len(weights)} weights for {len(self.pairs)} pairs: give one weight per pair")
        if weights is not None and any(not (float(w) >= 0.0) for w in weights):
            raise ValueError("pair weights must be numbers of at least 0")
        self.weights = None if weights is None else [float(w) for w in weights]
        self.affine = affine
        self.preprocessing = preprocessing
        self.augment = augment
        self.seed = seed
        self.cache = cache
        self.num_classes = num_classes
        self.input_channels = input_channels
        self.epoch = 0
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resized(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The pair at the network's input size: (h, w, 3) uint8 image, (h, w) uint8 labels."""
        if index in self._cache:
            return self._cache[index]
        image, label = load_pair(self.pairs[index])
        h, w = self.preprocessing.input_size
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
            label = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        if self.cache:
            self._cache[index] = (image, label)
        return image, label

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        image, label = self.resized(index)
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, label = augment_pair(image, label, rng, affine=self.affine)
        x = prepare(image, self.preprocessing)  # (3, h, w) float32
        if self.input_channels == 1:
            x = x[:1]  # grey models see channel 0, as `Segmenter` feeds them
        if self.num_classes == 1:
            target = (label > 0)[None].astype(np.float32)  # every labelled class is the foreground
        else:
            target = np.stack([(label == k + 1) for k in range(self.num_classes)]).astype(np.float32)
        item = (torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(target))
        if self.weights is not None:
            return (*item, torch.tensor(self.weights[index], dtype=torch.float32))
        return item
