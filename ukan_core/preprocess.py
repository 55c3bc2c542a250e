"""Image -> network input and network output -> image size, the way a model was trained.

Two normalisations:
- "official": exactly the official U-KAN pipeline, which official checkpoints need. cv2 BGR
  channel order, bilinear `cv2.resize`, ImageNet mean/std applied in that BGR order
  (`(x/255 - mean) / std`, albumentations `Normalize()`), then divided by 255 a second time
  (`Seg_UKAN/dataset.py`). Inputs end up in about [-0.0083, 0.0104].
- "standard": RGB, `x/255`, ImageNet mean/std, nothing more.

Two ways to fit the network (H, W must be multiples of 32):
- "resize": bilinear resize to `input_size` (no aspect preservation, as the official);
  `restore` resizes probabilities back bilinearly.
- "pad": no resampling; pad bottom/right up to the next multiple of 32 by reflection
  (mirror without repeating the edge pixel, so the network sees plausible context rather than
  a hard border); `restore` crops back. `input_size` is then only the training crop size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

MODES = ("official", "standard")
FITS = ("resize", "pad")
MULTIPLE = 32  # UKAN downsamples five times

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How images are turned into network input; stored in every checkpoint's metadata."""

    mode: Literal["official", "standard"] = "official"
    fit: Literal["resize", "pad"] = "resize"
    input_size: tuple[int, int] = (256, 256)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"preprocessing mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.fit not in FITS:
            raise ValueError(f"preprocessing fit {self.fit!r}: use one of {', '.join(FITS)}")
        size = tuple(int(v) for v in self.input_size)
        if len(size) != 2 or min(size) <= 0 or any(v % MULTIPLE for v in size):
            raise ValueError(f"input_size {self.input_size!r}: need (height, width), multiples of {MULTIPLE}")
        object.__setattr__(self, "input_size", size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, e.g. for checkpoint metadata."""
        return {"mode": self.mode, "fit": self.fit, "input_size": list(self.input_size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Preprocessing":
        """Inverse of `to_dict`; missing keys (or None) take the official defaults.

        An unknown key is a TypeError (house rule: nothing in a config is silently ignored).
        """
        data = dict(data or {})
        unknown = sorted(set(data) - {"mode", "fit", "input_size"})
        if unknown:
            raise TypeError(f"preprocessing: unknown key(s) {', '.join(map(repr, unknown))}")
        size = data.get("input_size", (256, 256))
        if isinstance(size, int):
            size = (size, size)
        return cls(mode=data.get("mode", "official"), fit=data.get("fit", "resize"), input_size=tuple(size))


OFFICIAL = Preprocessing()


def network_size(image_size: tuple[int, int], pre: Preprocessing) -> tuple[int, int]:
    """(h, w) the network sees for an image of (H, W) = `image_size`."""
    if pre.fit == "resize":
        return pre.input_size
    return _round_up(image_size[0]), _round_up(image_size[1])


def prepare(rgb8: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, h, w) float32 network input. Grey (H, W) is accepted too."""
    import cv2

    rgb = _check_rgb8(rgb8)
    image = rgb[:, :, ::-1] if pre.mode == "official" else rgb  # official: cv2.imread's BGR
    image = np.ascontiguousarray(image)
    if pre.fit == "resize":
        h, w = pre.input_size
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    x = _normalise(image, pre.mode)
    if pre.fit == "pad":
        x = _pad_to(x, network_size(rgb.shape[:2], pre), mode="reflect")
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def prepare_batch(images: Sequence[np.ndarray], pre: Preprocessing) -> np.ndarray:
    """A list of RGB8 images -> (N, 3, h, w) float32. With fit "pad" every image is padded to
    the batch's largest size, still bottom/right, so `restore` of each item crops correctly."""
    if not images:
        raise ValueError("prepare_batch needs at least one image")
    if pre.fit == "resize":
        return np.stack([prepare(img, pre) for img in images])
    sizes = [network_size(np.asarray(img).shape[:2], pre) for img in images]
    h, w = max(s[0] for s in sizes), max(s[1] for s in sizes)
    out = []
    for img in images:
        x = prepare(img, pre).transpose(1, 2, 0)
        out.append(_pad_to(x, (h, w), mode="reflect").transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(out))


def restore(prob: np.ndarray, pre: Preprocessing, original_size: tuple[int, int]) -> np.ndarray:
    """(C, h, w) network probabilities -> (C, H, W) at the image's `original_size` (H, W).

    fit "resize": bilinear resize back (cv2 INTER_LINEAR); fit "pad": crop the padding away.
    """
    import cv2

    p = _as_numpy(prob)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3:
        raise ValueError(f"restore expects (C, h, w) probabilities, got shape {p.shape}")
    H, W = int(original_size[0]), int(original_size[1])
    if pre.fit == "pad":
        if p.shape[1] < H or p.shape[2] < W:
            raise ValueError(f"padded output {p.shape[1:]} is smaller than the image {(H, W)}")
        return np.ascontiguousarray(p[:, :H, :W])
    if p.shape[1:] == (H, W):
        return np.ascontiguousarray(p)
    p32 = np.ascontiguousarray(p.transpose(1, 2, 0), dtype=np.float32)
    resized = cv2.resize(p32, (W, H), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    return np.ascontiguousarray(resized.transpose(2, 0, 1))


def prepare_mask(mask: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 mask -> (C, h, w) float32 target, by the official rule.

    Nearest resize (or zero padding), then /255; if the maximum is below 1 (0/1 label masks),
    every non-zero value becomes 1 (`Seg_UKAN/dataset.py`).
    """
    import cv2

    m = np.asarray(mask)
    if m.ndim == 2:
        m = m[:, :, None]
    if m.ndim != 3:
        raise ValueError(f"prepare_mask expects (H, W) or (H, W, C), got shape {m.shape}")
    size = network_size(m.shape[:2], pre)
    if pre.fit == "resize":
        resized = cv2.resize(np.ascontiguousarray(m), (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
        m = resized.reshape(size[0], size[1], m.shape[2])
    else:
        m = _pad_to(m, size, mode="constant")
    target = m.astype(np.float32) / 255
    if target.max() < 1:
        target[target > 0] = 1.0
    return np.ascontiguousarray(target.transpose(2, 0, 1))


# -- internals -------------------------------------------------------------------------------
def _normalise(image: np.ndarray, mode: str) -> np.ndarray:
    """uint8 (h, w, 3) -> float32, with the same float32 steps as albumentations 1.3.1."""
    mean = np.array(IMAGENET_MEAN, dtype=np.float32) * np.float32(255.0)
    std = np.array(IMAGENET_STD, dtype=np.float32) * np.float32(255.0)
    denominator = np.reciprocal(std, dtype=np.float32)
    x = image.astype(np.float32)
    x -= mean
    x *= denominator
    if mode == "official":
        x = x / np.float32(255)  # the official second division (dataset.py)
    return x


def _pad_to(x: np.ndarray, size: tuple[int, int], *, mode: str) -> np.ndarray:
    """Pad an (h, w, c) array bottom/right to `size`."""
    ph, pw = size[0] - x.shape[0], size[1] - x.shape[1]
    if ph < 0 or pw < 0:
        raise ValueError(f"cannot pad {x.shape[:2]} down to {size}")
    if ph == 0 and pw == 0:
        return x
    if mode == "reflect" and (x.shape[0] < 2 or x.shape[1] < 2):
        mode = "edge"  # reflection needs at least two pixels along each side
    return np.pad(x, ((0, ph), (0, pw), (0, 0)), mode=mode)


def _round_up(n: int) -> int:
    return max(MULTIPLE, -(-int(n) // MULTIPLE) * MULTIPLE)


def _check_rgb8(rgb8: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"prepare expects (H, W, 3) uint8 RGB (use to_rgb8), got {rgb.dtype} {rgb.shape}")
    return rgb


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)
