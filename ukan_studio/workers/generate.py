"""Generate images (or image + mask pairs) with a Diffusion U-KAN, and train one, off the GUI thread.

`GenerateWorker` runs `ukan_core.diffusion.pipeline.generate` and streams a live preview (a
uint8 grid of the current estimate of the clean images); `TrainGeneratorWorker` runs
`fit_diffusion` on a folder within a time budget and saves the result in the model store.
Importing this module never imports torch; run() does.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal

from ukan_core.progress import Progress
from ukan_core.models.registry import GENERATOR_PRESETS
from ukan_studio.job_data import GenerateRequest, GenerateResult, TrainGeneratorRequest
from ukan_studio.workers.base import Worker, limit_torch_threads

__all__ = ["GenerateRequest", "GenerateResult", "GenerateWorker", "TrainGeneratorRequest",
           "TrainGeneratorWorker", "preview_grid"]

PREVIEWS_PER_BATCH = 12
def preview_grid(samples: np.ndarray, columns: int | None = None, gap: int = 2) -> np.ndarray:
    """(B, H, W, C) uint8 -> one (rows·H, cols·W, 3) uint8 RGB picture; a pairs model's mask channel is dropped."""
    images = samples[..., :3] if samples.shape[-1] >= 3 else samples[..., :1]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    count, height, width = images.shape[:3]
    cols = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / cols)
    grid = np.zeros((rows * (height + gap) - gap, cols * (width + gap) - gap, 3), np.uint8)
    for index, image in enumerate(images):
        r, c = divmod(index, cols)
        grid[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = image
    return grid


class GenerateWorker(Worker):
    """Samples `request.count` images; `preview` carries the denoising as it goes."""

    preview = Signal(object)   # (h, w, 3) uint8 grid of the current batch's x̂0

    name = "Generate"

    def __init__(self, request: GenerateRequest) -> None:
        super().__init__()
        self.request = request

    def run(self) -> GenerateResult:
        limit_torch_threads()
        from ukan_core.device import pick_device
        from ukan_core.diffusion.pipeline import generate, is_pairs_model, load_generator, sampler_for, split_pairs
        from ukan_studio.workers.segment import model_label

        req = self.request
        self.report(Progress(0, req.steps, "loading the generator"))
        model, info = load_generator(req.model, pick_device(req.device))
        self.cancel_token.raise_if_cancelled()
        sampler = sampler_for(model, req.sampler, eta=req.eta)
        samples = generate(model, sampler, num_images=req.count, num_steps=req.steps, seed=req.seed,
                           batch_size=req.batch_size, on_progress=self.report, cancel=self.cancel_token,
                           preview_every=max(1, req.steps // PREVIEWS_PER_BATCH), on_preview=self._on_preview)
        if is_pairs_model(model, info):
            images, masks = split_pairs(samples)
        else:
            images, masks = (samples[..., 0] if samples.shape[-1] == 1 else samples), None
        return GenerateResult(images=images, masks=masks, seed=req.seed, sampler=req.sampler, steps=req.steps,
                              model_label=model_label(req.model, info))

    def _on_preview(self, estimate: np.ndarray, _first: int) -> None:
        self.preview.emit(preview_grid(estimate))


class TrainGeneratorWorker(Worker):
    """Trains a Diffusion U-KAN within a budget and returns a summary of the saved store version."""

    name = "Train generator"

    def __init__(self, request: TrainGeneratorRequest) -> None:
        super().__init__()
        self.request = request

    def run(self) -> dict[str, Any]:
        limit_torch_threads()
        from ukan_core.diffusion.train import fit_diffusion

        req = self.request
        self.report(Progress(0, req.steps, f"reading {Path(req.folder).name}"))
        model, pairs = self._model()
        result = fit_diffusion(model, Path(req.folder), steps=req.steps, batch_size=req.batch_size,
                               pairs=pairs, image_size=None if req.base else req.image_size, device=req.device,
                               progress=self.report, cancel=self.cancel_token, budget_s=req.budget_s,
                               name=req.name)
        version = result.version
        return {"ref": getattr(version, "ref", None), "steps": result.steps_done, "total_steps": result.total_steps,
                "stopped": result.stopped, "time_s": result.time_s,
                "final_loss": result.losses[-1] if result.losses else None}

    def _model(self) -> tuple[Any, bool]:
        """(generator, pairs): the base to continue (its own size and kind), or a new one of the preset."""
        req = self.request
        if req.base:
            from ukan_core.diffusion.pipeline import is_pairs_model, load_generator

            model, info = load_generator(req.base, "cpu")
            return model, is_pairs_model(model, info)
        from ukan_core.models.registry import build_model

        config = {**GENERATOR_PRESETS.get(req.preset, {}), **req.config,
                  "image_size": req.image_size, "in_channels": 4 if req.pairs else 3}
        return build_model("diffusion_ukan", config), req.pairs
