"""Segmenter: images in, probability maps and label masks out, at each image's own size.

The checkpoint's preprocessing decides how an image reaches the network (the official BGR
double-normalised pipeline for official checkpoints, resize or pad to a multiple of 32);
`ukan_core.preprocess.restore` takes the probabilities back to the image's size. Images whose
network input has the same size are batched; inference runs under `torch.inference_mode` on
the device `pick_device` chooses, through the models' fast inference copy when it is available.
The three steps are public (`prepare`, `forward`, `restore`) so that a folder pipeline can prepare
on other threads, and an ONNX Runtime runner (`ukan_core.onnx_runtime`) can replace `forward` alone.
Two options, off by default: flip test-time augmentation (in `forward`, so the folder pipeline
gets it too) and mask clean-up (`ukan_core.postprocess`, applied by `to_mask`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, Union

import numpy as np

from ukan_core.errors import UkanError
from ukan_core.io.images import ImageData, to_rgb8
from ukan_core.postprocess import PostProcess, clean_mask
from ukan_core.preprocess import Preprocessing, network_size, prepare, restore
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    import torch
    from torch import nn

ImageLike = Union[np.ndarray, ImageData]


class Segmenter:
    """Runs a segmentation U-KAN on images: `predict` gives (C, H, W) float32 sigmoid probabilities.

    The model is moved to the chosen device and put in eval mode; `optimize=True` runs a fast
    inference copy of it (`ukan_core.models.fast`), so later changes to the model are not seen.
    `tta=True` averages the probabilities of the image and its horizontal and vertical mirror
    images (3 passes). `postprocess` (a `ukan_core.postprocess.PostProcess`; None: off) cleans
    the label masks of `predict_mask` / `predict_mask_batch`; probabilities are never changed by it.
    """

    tta: bool = False                       # class defaults, for subclasses that replace __init__
    threshold: float = 0.5
    postprocess: PostProcess | None = None

    def __init__(self, model: nn.Module, info: dict[str, Any] | None = None, device: str | torch.device = "auto",
                 batch_size: int = 4, *, optimize: bool = True, tta: bool = False,
                 postprocess: PostProcess | None = None) -> None:
        from ukan_core.device import pick_device

        architecture = getattr(model, "architecture", None)
        if architecture != "ukan":
            raise UkanError(f"{_model_label(info)}: a {architecture or type(model).__name__} model cannot "
                            f"segment; choose a segmentation (U-KAN) model")
        self.info: dict[str, Any] = dict(info or {})
        self.preprocessing = Preprocessing.from_dict(self.info.get("preprocessing"))
        self.device = pick_device(device)
        self.batch_size = max(1, int(batch_size))
        self.num_classes = int(model.config.num_classes)
        self.input_channels = int(model.config.input_channels)
        if self.input_channels not in (1, 3):
            raise UkanError(f"{_model_label(info)}: models with {self.input_channels} input channels "
                            f"are not supported (1 or 3)")
        self.tta = bool(tta)
        self.postprocess = postprocess
        self.threshold = model_threshold(self.info)
        self.model = model.to(self.device).eval()
        self._network = _inference_copy(self.model) if optimize else self.model

    @classmethod
    def from_name_or_path(cls, name_or_path: str | Path, device: str | torch.device = "auto",
                          batch_size: int = 4) -> Segmenter:
        """A Segmenter for a checkpoint file, a bundled model name or a store name (`name[/version]`)."""
        from ukan_core.model_refs import load_model_with_info

        model, info = load_model_with_info(name_or_path, device="cpu")
        return cls(model, info, device=device, batch_size=batch_size)

    @property
    def class_names(self) -> list[str]:
        names = list(self.info.get("class_names") or [])
        if len(names) != self.num_classes:
            names = ["foreground"] if self.num_classes == 1 else [f"class {k + 1}" for k in range(self.num_classes)]
        return names

    def predict(self, image: ImageLike) -> np.ndarray:
        """(C, H, W) float32 probabilities for one image (RGB8 array, grey array or ImageData)."""
        return self.predict_batch([image])[0]

    def predict_mask(self, image: ImageLike, threshold: float | None = None) -> np.ndarray:
        """(H, W) uint8 labels: 0/1 for one class; 0..C (0 = background) for C classes.

        `threshold` None: the model's own (`self.threshold`, from its header; else 0.5)."""
        return self.to_mask(self.predict(image), threshold)

    def to_mask(self, prob: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """(H, W) uint8 labels of (C, H, W) probabilities, cleaned by `postprocess` when it is set."""
        mask = probabilities_to_mask(prob, self.threshold if threshold is None else threshold)
        return mask if self.postprocess is None else clean_mask(mask, self.postprocess)

    def predict_batch(self, images: Sequence[ImageLike], *, progress: ProgressCallback = no_progress,
                      cancel: CancelToken = NEVER) -> list[np.ndarray]:
        """Probabilities for each image, in order; images whose network input has one size share batches."""
        rgbs = [_rgb8(image) for image in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, rgb in enumerate(rgbs):
            groups.setdefault(network_size(rgb.shape[:2], self.preprocessing), []).append(index)
        results: list[np.ndarray | None] = [None] * len(rgbs)
        done = 0
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                cancel.raise_if_cancelled()
                chunk = indices[start:start + self.batch_size]
                prob = self.forward(np.stack([self.prepare(rgbs[i]) for i in chunk]))
                for row, i in enumerate(chunk):
                    results[i] = self.restore(prob[row], rgbs[i].shape[:2])
                done += len(chunk)
                progress(Progress(done, len(rgbs), "segmenting"))
        return [r for r in results if r is not None]

    def prepare(self, image: ImageLike) -> np.ndarray:
        """(channels, h, w) float32 network input of one image; thread-safe (numpy and cv2 only)."""
        x = prepare(_rgb8(image), self.preprocessing)
        return x[:1] if self.input_channels == 1 else x  # grey models see the first normalised channel

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, channels, h, w) prepared inputs of one size -> (N, C, h, w) float32 probabilities."""
        import torch

        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
            prob = torch.sigmoid(self._network(batch).float())
            if self.tta:  # mirror, predict, mirror back: the model was trained with flips
                for dims in ((3,), (2,)):
                    prob += torch.sigmoid(self._network(batch.flip(dims)).float()).flip(dims)
                prob /= 3.0
            return prob.cpu().numpy()

    def restore(self, prob: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """(C, h, w) network probabilities -> (C, H, W) float32 at the image's (H, W); thread-safe."""
        return np.ascontiguousarray(restore(prob, self.preprocessing, image_size), dtype=np.float32)

    def predict_mask_batch(self, images: Sequence[ImageLike], threshold: float | None = None, *,
                           progress: ProgressCallback = no_progress,
                           cancel: CancelToken = NEVER) -> list[np.ndarray]:
        """`predict_mask` for each image, batched."""
        return [self.to_mask(p, threshold)
                for p in self.predict_batch(images, progress=progress, cancel=cancel)]


def model_threshold(info: dict[str, Any]) -> float:
    """The foreground threshold a checkpoint header records (a fine-tune chooses it), else 0.5."""
    value = info.get("threshold", 0.5)
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        return 0.5
    return threshold if 0.0 < threshold < 1.0 else 0.5


def probabilities_to_mask(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(C, H, W) probabilities -> (H, W) uint8 labels.

    One class: 1 where p > threshold (the official `sigmoid > 0.5` rule). Several classes: the
    most probable class k gives label k + 1 where its probability exceeds the threshold, else 0.
    """
    p = np.asarray(prob)
    if p.ndim == 2:
        p = p[None]
    if p.shape[0] == 1:
        return (p[0] > threshold).astype(np.uint8)
    best = np.argmax(p, axis=0)
    confident = np.take_along_axis(p, best[None], axis=0)[0] > threshold
    return np.where(confident, best + 1, 0).astype(np.uint8)


def _rgb8(image: ImageLike) -> np.ndarray:
    rgb = to_rgb8(image)
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise UkanError(f"image of size {rgb.shape[:2]} is empty")
    return rgb


def _inference_copy(model: nn.Module) -> nn.Module:
    """The models' fast inference copy when that module exists, else the model itself."""
    try:
        from ukan_core.models.fast import optimize_for_inference
    except ImportError:
        return model
    return optimize_for_inference(model)


def _model_label(info: dict[str, Any] | None) -> str:
    info = info or {}
    name, version = info.get("name"), info.get("version")
    return f"{name}/{version}" if name and version else str(name or "model")
