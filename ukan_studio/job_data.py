"""Plain data that the views and the jobs exchange: what to explain, generate or train, and what
generating returned. No Qt, no torch: a panel builds a request, a controller hands it to a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.explain.plausibility import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class ExplainRequest:
    """What to explain: `reference` is a mask array, a mask file, or None (the model's own prediction)."""

    model: str
    image: Path
    reference: np.ndarray | Path | None = None
    reference_kind: str | None = None    # "ground_truth" | "corrected" | "predicted"
    threshold: float = DEFAULT_THRESHOLD
    device: str = "auto"
    frame: int = 0                       # which frame of `image` (a DICOM frame, TIFF page, NIfTI slice)
    name: str | None = None              # how to name it in messages (default: the file name)


# Generator sizes offered for a new model; "official" is the paper's DiffusionUKANConfig.


@dataclass(frozen=True)
class GenerateRequest:
    """How many samples of which generator, with which sampler, steps and seed."""

    model: str
    count: int = 4
    sampler: str = "dpmpp2m"
    steps: int = 20
    seed: int = 0
    eta: float = 0.0                     # DDIM only: 0 deterministic, 1 DDPM-like
    device: str = "auto"
    batch_size: int = 8


@dataclass
class GenerateResult:
    """Generated samples: images (N, H, W, 3) or (N, H, W) uint8, masks (N, H, W) 0/1 for a pairs model."""

    images: np.ndarray
    masks: np.ndarray | None
    seed: int
    sampler: str
    steps: int
    model_label: str

    @property
    def pairs(self) -> bool:
        return self.masks is not None


@dataclass(frozen=True)
class TrainGeneratorRequest:
    """Train a generator on `folder` (images, or labelled pairs) and save it as store model `name`."""

    folder: Path
    name: str
    pairs: bool = False
    steps: int = 2000
    budget_s: float | None = 600.0
    base: str | None = None              # continue from this generator instead of a new one
    preset: str = "small"
    config: dict[str, Any] = field(default_factory=dict)   # overrides of the preset
    image_size: int = 64
    batch_size: int = 16
    device: str = "auto"
