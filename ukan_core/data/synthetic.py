"""Procedural ultrasound-like images with exact lesion masks, deterministic by seed.

For demos, tests and the bundled model only: these images imitate the look of breast B-mode
ultrasound (speckle, dark lesions with irregular borders, posterior shadowing or enhancement,
depth attenuation) but they are NOT clinical data and say nothing about real anatomy.

Each case is drawn from its own generator seeded with (seed, index), so a dataset of N images
is the first N of a larger one with the same seed, and the same seed gives identical files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ukan_core.io.masks import write_mask
from ukan_core.progress import CancelToken, NEVER, Progress, ProgressCallback, no_progress


@dataclass(frozen=True)
class SyntheticStyle:
    """The knobs of one imaging "domain" (a scanner, a preset): change them for a domain shift."""

    speckle_size: float = 1.4        # PSF width in pixels (axial); lateral is 2x
    tissue_contrast: float = 0.25    # spread of the background echogenicity
    lesion_brightness: tuple[float, float] = (0.08, 0.25)
    lesion_radius: tuple[float, float] = (0.08, 0.2)   # fraction of the image size
    irregularity: tuple[float, float] = (0.04, 0.22)
    attenuation: float = 1.2         # exp(-attenuation * depth), depth in [0, 1]
    gain: float = 1.0
    fan: bool = False                # curvilinear (sector) field of view instead of linear
    max_lesions: int = 2


STYLES: dict[str, SyntheticStyle] = {
    "default": SyntheticStyle(),
    # Another "scanner": coarser speckle, lower contrast, larger and brighter lesions, a sector view.
    "alt": SyntheticStyle(
        speckle_size=2.4, tissue_contrast=0.2, lesion_brightness=(0.2, 0.38), lesion_radius=(0.12, 0.26),
        irregularity=(0.1, 0.3), attenuation=0.6, gain=1.25, fan=True, max_lesions=1,
    ),
}


def generate_case(rng: np.random.Generator, size: int = 256, style: str | SyntheticStyle = "default",
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic image and its lesion mask: (H, W) uint8 grey image, (H, W) uint8 0/1 mask."""
    st = STYLES[style] if isinstance(style, str) else style
    h = w = int(size)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    depth = yy / h

    echo = _tissue(rng, h, w, st)
    mask = np.zeros((h, w), np.uint8)
    n_lesions = int(rng.choice(np.arange(st.max_lesions + 1), p=_lesion_count_probs(st.max_lesions)))
    for _ in range(n_lesions):
        lesion = _lesion_mask(rng, h, w, st)
        if (lesion & mask).any():
            continue  # keep lesions apart so each has its own posterior band
        echo = _posterior_effect(rng, echo, lesion, st)
        inside = lesion.astype(bool)
        level = rng.uniform(*st.lesion_brightness)
        soft = cv2.GaussianBlur(lesion.astype(np.float32), (0, 0), 1.2)
        internal = level * (1.0 + 0.4 * _smooth_noise(rng, h, w, 6.0))
        echo = echo * (1.0 - soft) + internal * soft
        mask[inside] = 1

    echo = echo * np.exp(-st.attenuation * depth) * (1.0 + 0.6 * depth * st.attenuation / 2)  # partial TGC
    image = echo * _speckle(rng, h, w, st.speckle_size)
    image = np.log1p(6.0 * st.gain * np.clip(image, 0, None)) / math.log1p(6.0 * 1.6)
    image = np.clip(image, 0.0, 1.0)
    if st.fan:
        fov = _fan(h, w, xx, yy)
        image *= fov
        mask &= fov.astype(np.uint8)
    return (image * 255.0 + 0.5).astype(np.uint8), mask


def write_synthetic_dataset(out_dir: str | Path, n: int, seed: int = 0, size: int = 256,
                            style: str = "default", *, progress: ProgressCallback = no_progress,
                            cancel: CancelToken = NEVER) -> list[Path]:
    """Write `n` cases in the official layout: images/case_0000.png and masks/0/case_0000.png (0/255).

    Returns the image paths. Files are written atomically; the same arguments give identical bytes.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if style not in STYLES:
        raise ValueError(f"style {style!r}: use one of {', '.join(STYLES)}")
    out = Path(out_dir)
    images = []
    for i in range(n):
        cancel.raise_if_cancelled()
        image, mask = generate_case(np.random.default_rng([seed, i]), size, style)
        name = f"case_{i:04d}.png"
        images.append(write_mask(out / "images" / name, image))  # write_mask: atomic lossless PNG of uint8
        write_mask(out / "masks" / "0" / name, mask * 255)
        progress(Progress(i + 1, n, name))
    return images


# -- pieces ------------------------------------------------------------------------------------

def _lesion_count_probs(max_lesions: int) -> np.ndarray:
    weights = np.array([0.12] + [0.88 * 0.75 ** k for k in range(max_lesions)], dtype=float)
    return weights / weights.sum()


def _smooth_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """Zero-mean, unit-ish smooth noise."""
    noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
    return noise / (noise.std() + 1e-6)


def _tissue(rng: np.random.Generator, h: int, w: int, st: SyntheticStyle) -> np.ndarray:
    """Background echogenicity: skin line, wavy fat/gland layers and blotchy texture."""
    yy = np.arange(h, dtype=np.float32)[:, None] / h
    xx = np.arange(w, dtype=np.float32)[None, :] / w
    echo = 0.55 + st.tissue_contrast * 0.5 * _smooth_noise(rng, h, w, h / 10)
    echo += st.tissue_contrast * 0.25 * _smooth_noise(rng, h, w, h / 40)
    for _ in range(int(rng.integers(2, 5))):  # bright, slightly wavy layers (fascia)
        centre = rng.uniform(0.08, 0.9)
        wave = 0.02 * np.sin(2 * np.pi * (xx * rng.uniform(0.5, 2.0) + rng.uniform()))
        echo += rng.uniform(0.15, 0.45) * np.exp(-(((yy - centre - wave) / rng.uniform(0.006, 0.02)) ** 2))
    echo += 0.7 * np.exp(-((yy / 0.025) ** 2))  # skin line at the top
    return np.clip(echo, 0.05, 1.6).astype(np.float32)


def _lesion_mask(rng: np.random.Generator, h: int, w: int, st: SyntheticStyle) -> np.ndarray:
    """A filled, irregular closed contour: an ellipse whose radius is perturbed by low harmonics."""
    radius = rng.uniform(*st.lesion_radius) * min(h, w)
    aspect = rng.uniform(0.55, 1.0)
    angle = rng.uniform(0, np.pi)
    cx = rng.uniform(0.25, 0.75) * w
    cy = rng.uniform(0.3, 0.65) * h
    theta = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    irregular = rng.uniform(*st.irregularity)
    r = np.ones_like(theta)
    for k in range(2, 9):
        r += irregular / k ** 0.8 * rng.standard_normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.4, 1.8) * radius
    x = r * np.cos(theta)
    y = r * aspect * np.sin(theta)
    xs = cx + x * np.cos(angle) - y * np.sin(angle)
    ys = cy + x * np.sin(angle) + y * np.cos(angle)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(np.stack([xs, ys], 1)).astype(np.int32)], 1)
    return mask


def _posterior_effect(rng: np.random.Generator, echo: np.ndarray, lesion: np.ndarray,
                      st: SyntheticStyle) -> np.ndarray:
    """Shadowing (darker) or enhancement (brighter) in a band below the lesion, fading with depth."""
    cols = lesion.any(axis=0)
    rows = np.flatnonzero(lesion.any(axis=1))
    if not cols.any():
        return echo
    h, _ = echo.shape
    bottom = rows[-1]
    band = np.zeros_like(echo)
    band[bottom:, :] = cols[None, :].astype(np.float32)
    fade = np.exp(-np.maximum(np.arange(h, dtype=np.float32) - bottom, 0) / (0.5 * h))[:, None]
    band = cv2.GaussianBlur(band * fade, (0, 0), 3.0)
    factor = rng.uniform(0.3, 0.6) if rng.uniform() < 0.5 else rng.uniform(1.3, 1.7)
    return echo * (1.0 + (factor - 1.0) * band)


def _speckle(rng: np.random.Generator, h: int, w: int, size: float) -> np.ndarray:
    """Fully developed speckle: the magnitude of blurred complex Gaussian noise (Rayleigh), mean ~1."""
    real = rng.standard_normal((h, w)).astype(np.float32)
    imag = rng.standard_normal((h, w)).astype(np.float32)
    kx, ky = 2.0 * size, size  # the point spread is wider laterally than axially
    real = cv2.GaussianBlur(real, (0, 0), sigmaX=kx, sigmaY=ky)
    imag = cv2.GaussianBlur(imag, (0, 0), sigmaX=kx, sigmaY=ky)
    amplitude = np.sqrt(real * real + imag * imag)
    return amplitude / (amplitude.mean() + 1e-6)


def _fan(h: int, w: int, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """A curvilinear probe's sector: apex above the image, +-35 degrees."""
    apex_y = -0.35 * h
    angle = np.arctan2(xx - w / 2, yy - apex_y)
    radius = np.hypot(xx - w / 2, yy - apex_y)
    inside = (np.abs(angle) < np.deg2rad(35)) & (radius > 0.4 * h) & (radius < 1.33 * h)
    return inside.astype(np.float32)
