"""Capture the tokenized-KAN activations of a U-KAN in one forward pass.

Forward hooks record, for each token block (`block1.0`, `block2.0`, `dblock1.0`, `dblock2.0`),
the outputs of its three KAN layers (`<block>.layer.fc1..fc3`, 2-D (B·N, C)) and the block's
own output tokens (B, N, C). Tokens are laid back on their H×W grid, which a pre-hook reads from
the block's (x, H, W) arguments. Maps are kept at token resolution (1/8 … 1/32 of the network
input) as float32 numpy, and only upsampled (bilinear, `upsample.to_image_size`, numpy) to the
image's own size when asked, one chunk of channels at a time, so memory stays bounded for large
images and `Activations` can be used where torch is never imported. The same names work for
a `no_kan=True` (MLP) model, whose fc layers are `nn.Linear`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ukan_core.errors import UkanError
from ukan_core.explain.plausibility import normalise_channels
from ukan_core.explain.upsample import chunk_size, to_image_size
from ukan_core.io.images import ImageData, to_rgb8
from ukan_core.preprocess import Preprocessing, network_size, prepare, restore
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    import torch
    from torch import nn

ImageLike = Union[np.ndarray, ImageData]

TOKEN_BLOCKS = ("block1", "block2", "dblock1", "dblock2")   # forward order
KAN_SUBLAYERS = ("fc1", "fc2", "fc3")


def layer_names(model: nn.Module) -> list[str]:
    """The capturable layers of a U-KAN in forward order: per block fc1, fc2, fc3, then the block."""
    modules = dict(model.named_modules())
    names = []
    for block in TOKEN_BLOCKS:
        base = f"{block}.0"
        if base not in modules:
            continue
        names += [f"{base}.layer.{fc}" for fc in KAN_SUBLAYERS if f"{base}.layer.{fc}" in modules]
        names.append(base)
    if not names:
        raise UkanError(f"{type(model).__name__}: no tokenized KAN blocks to explain; choose a U-KAN model")
    return names


def resolve_layer(model: nn.Module, name: str) -> str:
    """A full layer name from a full or short one: "dblock2" -> "dblock2.0", "block1.fc2" -> "block1.0.layer.fc2"."""
    names = layer_names(model)
    text = name.strip()
    if text in names:
        return text
    block, *parts = text.split(".")
    rest = [p for p in parts if p not in ("0", "layer")]
    candidate = f"{block}.0" if not rest else f"{block}.0.layer.{rest[0]}" if len(rest) == 1 else None
    if candidate in names:
        return candidate
    raise UkanError(f"unknown layer {name!r}; choose one of {', '.join(names)}")


@dataclass
class Activations:
    """One image's token-resolution maps per layer, plus what is needed to map them onto the image.

    `maps[layer]` is (C, h, w) float32 at the token grid; `probability` is the model's (classes, H, W)
    sigmoid output at the image's size, from the same forward pass.
    """

    maps: dict[str, np.ndarray]
    image_size: tuple[int, int]
    network_size: tuple[int, int]
    fit: str
    probability: np.ndarray | None = None

    @property
    def layers(self) -> list[str]:
        return list(self.maps)

    def channels(self, layer: str) -> int:
        """Number of channels of `layer`."""
        return int(self._layer(layer).shape[0])

    def token_grid(self, layer: str) -> tuple[int, int]:
        """(h, w) of the layer's token grid."""
        _, h, w = self._layer(layer).shape
        return int(h), int(w)

    def upsampled(self, layer: str, channels: Sequence[int] | None = None) -> np.ndarray:
        """Raw (not normalised) maps of `channels` (default: all) at the image's size, (k, H, W) float32."""
        maps = self._layer(layer)
        picked = maps if channels is None else maps[np.asarray(list(channels), dtype=np.int64)]
        return to_image_size(picked, self.image_size, self.network_size, self.fit)

    def iter_normalised(self, layer: str, chunk: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(first channel, (k, H, W) normalised maps) chunk by chunk over all channels of `layer`."""
        n = self.channels(layer)
        chunk = chunk or self._chunk()
        for start in range(0, n, chunk):
            yield start, normalise_channels(self.upsampled(layer, range(start, min(n, start + chunk))))

    def channel_map(self, layer: str, channel: int) -> np.ndarray:
        """One channel at the image's size, min-max normalised to [0, 1], (H, W) float32."""
        return normalise_channels(self.upsampled(layer, [channel]))[0]

    def aggregate(self, layer: str, how: str = "mean", channels: Sequence[int] | None = None) -> np.ndarray:
        """Mean or max over `channels` (default all) of the normalised channel maps, normalised again.

        With `channels` = the top-k channels by PIoU, "mean" is the paper-style top-k aggregate.
        """
        if how not in ("mean", "max"):
            raise ValueError(f"aggregate {how!r}: use 'mean' or 'max'")
        chosen = list(range(self.channels(layer))) if channels is None else [int(c) for c in channels]
        if not chosen:
            raise ValueError("aggregate needs at least one channel")
        total: np.ndarray | None = None
        step = self._chunk()
        for start in range(0, len(chosen), step):
            part = normalise_channels(self.upsampled(layer, chosen[start:start + step]))
            reduced = part.sum(axis=0) if how == "mean" else part.max(axis=0)
            if total is None:
                total = reduced
            else:
                total = total + reduced if how == "mean" else np.maximum(total, reduced)
        assert total is not None
        return normalise_channels(total[None])[0]

    def _chunk(self) -> int:
        height = max(self.image_size[0], self.network_size[0])
        return chunk_size((height, max(self.image_size[1], self.network_size[1])))

    def _layer(self, layer: str) -> np.ndarray:
        try:
            return self.maps[layer]
        except KeyError:
            raise UkanError(f"layer {layer!r} was not captured; captured: {', '.join(self.maps)}") from None


class ActivationRecorder:
    """Context manager: hooks on the chosen layers of a U-KAN; `maps` fills on each forward pass.

    `maps[layer]` is a (B, C, h, w) float32 CPU tensor of the last forward pass.
    """

    def __init__(self, model: nn.Module, layers: Sequence[str] | None = None) -> None:
        available = layer_names(model)
        chosen = available if layers is None else [resolve_layer(model, n) for n in layers]
        self.layers = list(dict.fromkeys(chosen))
        self.model = model
        self.maps: dict[str, torch.Tensor] = {}
        self._grids: dict[str, tuple[int, int]] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> ActivationRecorder:
        modules = dict(self.model.named_modules())
        blocks = {name.split(".")[0] + ".0" for name in self.layers}
        for block in blocks:
            self._handles.append(modules[block].register_forward_pre_hook(self._grid_hook(block), with_kwargs=True))
        for name in self.layers:
            block = name.split(".")[0] + ".0"
            self._handles.append(modules[name].register_forward_hook(self._map_hook(name, block)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _grid_hook(self, block: str):
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            h = args[1] if len(args) > 1 else kwargs["H"]
            w = args[2] if len(args) > 2 else kwargs["W"]
            self._grids[block] = (int(h), int(w))
        return hook

    def _map_hook(self, name: str, block: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            h, w = self._grids[block]
            tokens = output.detach()
            channels = tokens.shape[-1]
            batch = tokens.numel() // (h * w * channels)   # (B·N, C) from fc layers, (B, N, C) from blocks
            grid = tokens.reshape(batch, h, w, channels).permute(0, 3, 1, 2)
            self.maps[name] = grid.float().cpu().contiguous()
        return hook


def capture_activations(
    model: nn.Module,
    images: Sequence[ImageLike],
    preprocessing: Preprocessing | dict[str, Any] | None = None,
    layers: Sequence[str] | None = None,
    *,
    batch_size: int = 4,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER,
) -> list[Activations]:
    """Activations of `layers` (default: all) for each image, in order; one forward pass per batch.

    `preprocessing` is how the model was trained (a checkpoint's info["preprocessing"]); the model
    runs on its own device, in eval mode, and is returned to its previous mode afterwards.
    """
    import torch

    pre = preprocessing if isinstance(preprocessing, Preprocessing) else Preprocessing.from_dict(preprocessing)
    rgbs = [to_rgb8(image) for image in images]
    device = next(model.parameters()).device
    in_channels = int(getattr(getattr(model, "config", None), "input_channels", 3))
    groups: dict[tuple[int, int], list[int]] = {}
    for index, rgb in enumerate(rgbs):
        groups.setdefault(network_size(rgb.shape[:2], pre), []).append(index)
    results: list[Activations | None] = [None] * len(rgbs)
    was_training = model.training
    model.eval()
    done = 0
    try:
        with ActivationRecorder(model, layers) as recorder:
            for net_size, indices in groups.items():
                for start in range(0, len(indices), max(1, batch_size)):
                    cancel.raise_if_cancelled()
                    chunk = indices[start:start + max(1, batch_size)]
                    x = np.stack([prepare(rgbs[i], pre) for i in chunk])[:, :in_channels]
                    with torch.inference_mode():
                        logits = model(torch.from_numpy(np.ascontiguousarray(x)).to(device))
                        prob = torch.sigmoid(logits.float()).cpu().numpy()
                    for row, i in enumerate(chunk):
                        size = rgbs[i].shape[:2]
                        results[i] = Activations(
                            maps={n: recorder.maps[n][row].numpy().copy() for n in recorder.layers},
                            image_size=(int(size[0]), int(size[1])),
                            network_size=tuple(int(v) for v in net_size),  # type: ignore[arg-type]
                            fit=pre.fit,
                            probability=np.ascontiguousarray(restore(prob[row], pre, size), np.float32),
                        )
                    done += len(chunk)
                    progress(Progress(done, len(rgbs), "capturing activations"))
    finally:
        model.train(was_training)
    return [r for r in results if r is not None]
