"""Procedural ultrasound-like images with exact lesion masks, deterministic by seed.

For demos, tests and the bundled model only: these images imitate the look of breast B-mode
ultrasound (layered tissue, speckle, dark lesions with irregular borders, posterior shadowing or
enhancement, depth attenuation) but they are NOT clinical data and say nothing about real anatomy.

Each case is drawn from its own generator seeded with (seed, index), so a dataset of N images
is the first N of a larger one with the same seed, and the same seed gives identical files on
the same platform (OpenCV's blurs may differ in the last bit between CPU types).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ukan_core.io.masks import write_mask
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

SAMPLE_SEED = 7
SAMPLE_COUNT = 8


@dataclass(frozen=True)
class SyntheticStyle:
    """The knobs of one imaging "domain" (a scanner, a preset): change them for a domain shift."""

    speckle_size: float = 0.9          # axial point-spread sigma in pixels (at 256 px); lateral is 1.8x
    looks: int = 2                     # compounded speckle patterns: more looks, smoother speckle
    dynamic_range_db: float = 36.0     # log-compression range shown from black to white
    tissue_contrast: float = 1.0       # scales the differences between tissue layers
    lesion_brightness: tuple[float, float] = (0.02, 0.1)   # echogenicity relative to gland (~1)
    lesion_radius: tuple[float, float] = (0.07, 0.17)      # fraction of the image size
    irregularity: tuple[float, float] = (0.03, 0.3)        # amplitude of the border harmonics
    attenuation: float = 1.6           # exp(-attenuation * depth), depth in [0, 1], before TGC
    gain_db: float = 0.0
    fan: bool = False                  # curvilinear (sector) field of view instead of linear
    max_lesions: int = 2
    invert: bool = False               # contrast inversion: dark becomes bright (e.g. another modality's look)
    aspect: tuple[float, float] = (0.5, 0.95)              # lesion height / width


STYLES: dict[str, SyntheticStyle] = {
    "default": SyntheticStyle(),
    # Another "scanner": coarser, single-look speckle, flatter contrast, larger and brighter
    # lesions, weaker attenuation, more gain and a sector field of view.
    "alt": SyntheticStyle(
        speckle_size=1.4, looks=1, dynamic_range_db=46.0, tissue_contrast=0.8,
        lesion_brightness=(0.03, 0.12), lesion_radius=(0.11, 0.22), irregularity=(0.1, 0.35),
        attenuation=0.7, gain_db=3.0, fan=True, max_lesions=1,
    ),
    # A third domain: linear probe, fine compounded speckle, rounder and larger lesions, and the
    # grey levels inverted, so lesions are bright on darker tissue.
    "inverted": SyntheticStyle(
        speckle_size=0.7, looks=3, dynamic_range_db=30.0, tissue_contrast=1.2,
        lesion_brightness=(0.02, 0.08), lesion_radius=(0.1, 0.2), irregularity=(0.02, 0.2),
        attenuation=1.0, gain_db=-2.0, fan=False, max_lesions=2, invert=True, aspect=(0.75, 1.0),
    ),
}


def generate_case(rng: np.random.Generator, size: int = 256, style: str | SyntheticStyle = "default",
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic image and its lesion mask: (H, W) uint8 grey image, (H, W) uint8 0/1 mask.

    Not clinical data: a procedural imitation of B-mode ultrasound for demos and tests.
    """
    st = _style(style)
    h = w = int(size)
    scale = h / 256.0  # feature sizes are defined at 256 px
    depth = (np.arange(h, dtype=np.float32) / h)[:, None]

    echo = _tissue(rng, h, w, st)
    mask = np.zeros((h, w), np.uint8)
    n_lesions = int(rng.choice(st.max_lesions + 1, p=_lesion_count_probs(st.max_lesions)))
    for _ in range(n_lesions):
        lesion = _lesion_mask(rng, h, w, st)
        if (cv2.dilate(lesion, np.ones((5, 5), np.uint8)) & mask).any():
            continue  # keep lesions apart so each has its own border and posterior band
        echo = _posterior_effect(rng, echo, lesion)
        level = rng.uniform(*st.lesion_brightness)
        internal = level * np.exp(0.5 * _smooth_noise(rng, h, w, 10 * scale))  # internal echoes
        soft = cv2.GaussianBlur(lesion.astype(np.float32), (0, 0), 0.8 * scale)
        echo = echo * (1.0 - soft) + internal * soft
        mask |= lesion

    # Attenuation with depth, only partly undone by time-gain compensation.
    echo = echo * np.exp(-st.attenuation * depth) * (1.0 + 0.5 * st.attenuation * depth)
    envelope = np.sqrt(echo) * _speckle(rng, h, w, st.speckle_size * scale, st.looks)
    decibels = 20.0 * np.log10(envelope + 1e-4) + st.gain_db
    image = np.clip((decibels + 0.6 * st.dynamic_range_db) / st.dynamic_range_db, 0.0, 1.0)
    if st.invert:
        image = 1.0 - image
    if st.fan:
        fov = _fan(h, w)
        image *= fov
        mask &= fov.astype(np.uint8)
    return (image * 255.0 + 0.5).astype(np.uint8), mask


def write_synthetic_dataset(out_dir: str | Path, n: int, seed: int = 0, size: int = 256,
                            style: str = "default", *, progress: ProgressCallback = no_progress,
                            cancel: CancelToken = NEVER) -> list[Path]:
    """Write `n` cases in the official layout: images/case_0000.png and masks/0/case_0000.png (0/255).

    Returns the image paths. Files are written atomically; the same arguments give identical bytes.
    Synthetic, not clinical data (see the module docstring).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    _style(style)
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


def write_sample_images(out_dir: str | Path) -> list[Path]:
    """Write the app's bundled samples (`resources/samples/sample_01.png` ...): cases 0..7 of seed 7.

    The same images as `ukan synth --n 8 --seed 7 --size 256`, renamed; no masks (the app opens
    this folder as unlabelled images).
    """
    out = Path(out_dir)
    paths = []
    for i in range(SAMPLE_COUNT):
        image, _ = generate_case(np.random.default_rng([SAMPLE_SEED, i]), 256, "default")
        paths.append(write_mask(out / f"sample_{i + 1:02d}.png", image))
    return paths


# -- pieces ------------------------------------------------------------------------------------

def _style(style: str | SyntheticStyle) -> SyntheticStyle:
    if isinstance(style, SyntheticStyle):
        return style
    if style not in STYLES:
        raise ValueError(f"style {style!r}: use one of {', '.join(STYLES)}")
    return STYLES[style]


def _lesion_count_probs(max_lesions: int) -> np.ndarray:
    """About 1 in 8 images without a lesion; otherwise mostly one, sometimes more."""
    weights = np.array([0.12] + [0.88 * 0.3 ** k for k in range(max_lesions)], dtype=float)
    return weights / weights.sum()


def _smooth_noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Zero-mean, unit-variance noise correlated over about `scale` pixels (cheap: upsampled grid)."""
    gh, gw = max(2, round(h / scale)) + 2, max(2, round(w / scale)) + 2
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    big = cv2.resize(grid, (w + 2 * round(w / (gw - 2)), h + 2 * round(h / (gh - 2))),
                     interpolation=cv2.INTER_CUBIC)
    oy, ox = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    noise = big[oy:oy + h, ox:ox + w]
    return (noise - noise.mean()) / (noise.std() + 1e-6)


def _wavy_line(rng: np.random.Generator, w: int, centre: float, amplitude: float) -> np.ndarray:
    """A smooth random boundary: depth (fraction of the height) for every column."""
    x = np.arange(w, dtype=np.float32) / w
    y = np.full(w, centre, np.float32)
    for k in (1, 2, 3):
        y += amplitude / k * rng.standard_normal() * np.sin(2 * np.pi * (k * x * rng.uniform(0.5, 1.0) + rng.uniform()))
    return y


def _tissue(rng: np.random.Generator, h: int, w: int, st: SyntheticStyle) -> np.ndarray:
    """Background echogenicity (linear, gland ~1): skin, fat, fibroglandular tissue, muscle."""
    scale = h / 256.0
    yy = (np.arange(h, dtype=np.float32) / h)[:, None]
    c = st.tissue_contrast
    skin = 0.03 + 0.01 * rng.standard_normal()
    fat_bottom = _wavy_line(rng, w, rng.uniform(0.16, 0.32), 0.04)[None, :]
    gland_bottom = _wavy_line(rng, w, rng.uniform(0.72, 0.88), 0.05)[None, :]

    def step(edge: np.ndarray | float, width: float = 0.012) -> np.ndarray:
        return 0.5 + 0.5 * np.tanh((yy - edge) / (2 * width))  # a smooth 0 -> 1 below `edge`

    fat, muscle = 0.2 ** c, 0.4 ** c
    below_gland = step(gland_bottom)
    echo = fat + (1.0 - fat) * step(fat_bottom) * (1.0 - below_gland) + (muscle - fat) * below_gland
    # Fat lobules and gland blotches, then fine striations in the muscle.
    echo = echo * np.exp(0.35 * c * _smooth_noise(rng, h, w, 18 * scale))
    echo = echo * np.exp(0.2 * c * _smooth_noise(rng, h, w, 6 * scale))
    striation = _smooth_noise(rng, h, max(2, w // 8), 2 * scale)
    striation = cv2.resize(striation, (w, h), interpolation=cv2.INTER_LINEAR)
    echo = echo * np.exp(0.3 * c * striation * below_gland)
    # Bright specular interfaces: the skin line, the fascia and a few Cooper ligaments.
    echo = echo + 3.0 * np.exp(-(((yy - skin) / 0.01) ** 2))
    for edge in (fat_bottom, gland_bottom):
        echo = echo + rng.uniform(0.8, 2.0) * c * np.exp(-(((yy - edge) / 0.007) ** 2))
    for _ in range(int(rng.integers(1, 4))):
        ligament = _wavy_line(rng, w, rng.uniform(0.08, 0.25), 0.05)[None, :]
        strength = rng.uniform(0.5, 1.5) * c * np.clip(_smooth_noise(rng, 1, w, 40 * scale), 0, None)
        echo = echo + strength * np.exp(-(((yy - ligament) / 0.005) ** 2))
    return np.clip(echo, 0.02, None).astype(np.float32)


def _lesion_mask(rng: np.random.Generator, h: int, w: int, st: SyntheticStyle) -> np.ndarray:
    """A filled, irregular closed contour: an ellipse whose radius is perturbed by random harmonics."""
    radius = rng.uniform(*st.lesion_radius) * min(h, w)
    aspect = rng.uniform(*st.aspect)  # by default wider than tall, as most breast lesions
    angle = rng.uniform(-0.4, 0.4)
    cx = rng.uniform(0.22, 0.78) * w
    cy = rng.uniform(0.35, 0.7) * h
    theta = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    irregular = rng.uniform(*st.irregularity)
    r = np.ones_like(theta)
    for k in range(2, 13):  # low harmonics lobulate the border, higher ones make it ragged
        r += irregular / k ** 0.9 * rng.standard_normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.45, 1.7) * radius
    x = r * np.cos(theta)
    y = r * aspect * np.sin(theta)
    xs = cx + x * np.cos(angle) - y * np.sin(angle)
    ys = cy + x * np.sin(angle) + y * np.cos(angle)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(np.stack([xs, ys], 1)).astype(np.int32)], 1)
    return mask


def _posterior_effect(rng: np.random.Generator, echo: np.ndarray, lesion: np.ndarray) -> np.ndarray:
    """Shadowing (darker) or enhancement (brighter) in a band below the lesion, fading with depth."""
    kind = rng.uniform()
    if kind < 0.2 or not lesion.any():
        return echo  # no posterior feature
    h, _ = echo.shape
    rows = np.arange(h, dtype=np.float32)[:, None]
    # Everything below the lesion's centre of mass, in the columns the lesion covers.
    below = (np.maximum.accumulate(lesion, axis=0) > 0).astype(np.float32)
    centre = float(np.flatnonzero(lesion.any(axis=1)).mean())
    band = below * np.exp(-np.maximum(rows - centre, 0) / rng.uniform(0.4, 1.0) / h) * (1.0 - lesion)
    band = cv2.GaussianBlur(band, (0, 0), 2.0 * h / 256)
    factor = rng.uniform(0.25, 0.55) if kind < 0.55 else rng.uniform(1.5, 2.3)
    return echo * (1.0 + (factor - 1.0) * band)


def _speckle(rng: np.random.Generator, h: int, w: int, size: float, looks: int) -> np.ndarray:
    """Fully developed speckle: magnitude of blurred complex Gaussian noise (Rayleigh), compounded
    over `looks` independent patterns; mean amplitude ~1."""
    intensity = np.zeros((h, w), np.float32)
    for field in rng.standard_normal((2 * looks, h, w), dtype=np.float32):  # real and imaginary parts
        field = cv2.GaussianBlur(field, (0, 0), sigmaX=1.8 * size, sigmaY=size)
        intensity += field * field
    amplitude = np.sqrt(intensity / looks)
    return amplitude / (amplitude.mean() + 1e-6)


def _fan(h: int, w: int) -> np.ndarray:
    """A curvilinear probe's sector: apex above the image, +-35 degrees."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    apex_y = -0.35 * h
    angle = np.arctan2(xx - w / 2, yy - apex_y)
    radius = np.hypot(xx - w / 2, yy - apex_y)
    inside = (np.abs(angle) < math.radians(35)) & (radius > 0.4 * h) & (radius < 1.33 * h)
    return inside.astype(np.float32)
