"""Train a Diffusion U-KAN (ε-prediction DDPM) on an image folder or on image + mask pairs.

The official recipe by default (`Diffusion_UKAN/Diffusion/Train.py`): AdamW(lr 2e-4, weight decay
1e-4), a linear warm-up over the first 10 % of steps from lr to 2·lr, then a cosine decay whose
period is the whole run, counted from the end of the warm-up, so it ends at 2.4 % of the peak
(the official GradualWarmupScheduler(multiplier=2) + CosineAnnealingLR(T_max=epochs), here per
step instead of per epoch), gradient clipping at norm 1, random horizontal and vertical flips,
images in [-1, 1], t uniform in [0, T). The loss is the official one, the squared error summed
over the batch and divided by 1000 (`loss="official"`); `loss="mean"` is the plain MSE, whose
gradients differ only in scale (and so in how often clipping acts).

Added to the official recipe: an EMA of the weights (used for sampling, with the usual warm-up
min(decay, (1 + n) / (10 + n)) so that short runs are not dominated by the initial weights), a
wall-clock budget, cancel, resumable training states, and the final EMA model saved as a new
version in the model store.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ukan_core.device import pick_device
from ukan_core.diffusion.schedule import NoiseSchedule
from ukan_core.diffusion.train_data import TrainingSource, load_training_images, random_flips
from ukan_core.diffusion.train_state import (
    load_training_state,
    restore_modules,
    restore_optimizer,
    save_training_state,
)
from ukan_core.errors import Cancelled, DatasetError, TrainingDiverged
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

OFFICIAL_EPOCHS = 1000


@dataclass
class DiffusionTrainResult:
    """What a training run produced. `model` is the EMA model (eval mode), the one to sample with."""

    model: nn.Module
    steps_done: int
    total_steps: int
    stopped: str                      # "completed" or "budget"
    time_s: float
    losses: list[float] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    version: Any = None               # the store's VersionInfo when saved there
    state_path: Path | None = None


def official_lr(step: int, total: int, base_lr: float, warmup: int, multiplier: float = 2.0) -> float:
    """Learning rate at `step`: linear warm-up from base to multiplier·base, then the official cosine.

    As the official schedulers combine: the cosine counts from the end of the warm-up with period
    `total`, so 2e-4 over 1000 steps goes 2e-4 -> 4e-4 at step 100 -> 9.8e-6 at step 1000.
    """
    if warmup > 0 and step <= warmup:
        return base_lr * (1.0 + (multiplier - 1.0) * step / warmup)
    return base_lr * multiplier * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(total, 1)))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 - decay)·model for parameters; buffers are copied."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def fit_diffusion(
    model: nn.Module,
    data: TrainingSource,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int = 32,
    lr: float = 2e-4,
    weight_decay: float = 1e-4,
    warmup: int | None = None,
    grad_clip: float = 1.0,
    ema_decay: float = 0.999,
    loss: str = "official",
    pairs: bool = False,
    image_size: int | None = None,
    device: str | torch.device = "auto",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER,
    budget_s: float | None = None,
    seed: int = 0,
    resume_from: str | Path | None = None,
    state_path: str | Path | None = None,
    save_every: int = 500,
    name: str | None = None,
    store: Any = None,
) -> DiffusionTrainResult:
    """Train `model` in place and return its EMA copy; see the module docstring for the recipe.

    Length: `steps`, else `epochs` passes over the data (drop-last batches), else the official 1000
    epochs; `warmup` defaults to a tenth of the steps. `budget_s` stops cleanly after the last step
    that fits. `cancel` is checked every step: the training state is saved (when `state_path` is
    set, so the run can be resumed) and the model's weights from before the call are restored,
    then Cancelled is raised; a non-finite loss does the same with TrainingDiverged.
    `resume_from` continues a saved state exactly (same data, same seed: same weights as an
    uninterrupted run). With `name`, the final EMA model is added to `store` (default: the user's
    ModelStore) as a new version.
    """
    if loss not in ("official", "mean"):
        raise ValueError(f"loss must be 'official' or 'mean', got {loss!r}")
    config = getattr(model, "config", None)
    channels = int(getattr(config, "in_channels", 3))
    size = int(image_size or getattr(config, "image_size", 64))
    dev = pick_device(device)
    images = load_training_images(data, image_size=size, channels=channels, pairs=pairs)
    n = images.shape[0]
    schedule = NoiseSchedule.for_model(model)
    T = schedule.num_train_timesteps  # noqa: N806

    state_tensors, state_meta = load_training_state(resume_from) if resume_from else ({}, {})
    settings = {"batch_size": max(1, min(batch_size, n)), "lr": lr, "weight_decay": weight_decay,
                "grad_clip": grad_clip, "ema_decay": ema_decay, "loss": loss, "seed": int(seed), "n_images": n}
    if resume_from:
        if state_meta.get("n_images") != n or state_meta.get("channels") != channels:
            raise DatasetError(f"{Path(resume_from).name}: saved for {state_meta.get('n_images')} images with "
                               f"{state_meta.get('channels')} channels, got {n} with {channels}")
        settings.update({k: state_meta[k] for k in settings if k in state_meta})
    batch, lr, loss = settings["batch_size"], settings["lr"], settings["loss"]
    per_epoch = max(1, n // batch)
    total = int(state_meta.get("total_steps") or steps or per_epoch * (epochs or OFFICIAL_EPOCHS))
    warm = int(state_meta.get("warmup", warmup if warmup is not None else total // 10))
    settings["warmup"] = warm

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.to(dev).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=settings["weight_decay"])
    data_rng = torch.Generator().manual_seed(int(seed))
    step, ema_updates, position = 0, 0, 0
    order = torch.randperm(n, generator=data_rng)
    losses: list[float] = []
    if resume_from:
        restore_modules(state_tensors, model, ema, Path(resume_from).name)
        restore_optimizer(state_tensors, state_meta, optimizer)
        data_rng.set_state(state_tensors["rng.data"].to(torch.uint8))
        order = state_tensors["data.order"].long()
        step, ema_updates, position = int(state_meta["step"]), int(state_meta["ema_updates"]), int(state_meta["position"])
        losses = list(state_meta.get("losses", []))

    def save_state(path: str | Path) -> Path:
        meta = {"step": step, "total_steps": total, "ema_updates": ema_updates, "position": position,
                "pairs": pairs, "image_size": size, "channels": channels, "losses": losses[-10000:],
                "config": config.to_dict() if hasattr(config, "to_dict") else None, **settings}
        tensors = {"rng.data": data_rng.get_state(), "rng.torch": torch.get_rng_state(), "data.order": order}
        if dev.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(dev)
        return save_training_state(path, model=model, ema=ema, optimizer=optimizer, tensors=tensors, meta=meta)

    start = time.perf_counter()
    steps_this_run = 0
    stopped = "completed"
    # Dropout draws from the global RNG: fork it so that the caller's RNG is untouched and a
    # resumed run continues the same stream.
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(int(seed))
        if resume_from:
            torch.set_rng_state(state_tensors["rng.torch"])
            if dev.type == "cuda" and "rng.cuda" in state_tensors:
                torch.cuda.set_rng_state(state_tensors["rng.cuda"], dev)
        try:
            while step < total:
                cancel.raise_if_cancelled()
                step_start = time.perf_counter()
                if position + batch > n:
                    order, position = torch.randperm(n, generator=data_rng), 0
                x0 = random_flips(images[order[position:position + batch]], data_rng).to(dev)
                position += batch
                t = torch.randint(T, (batch,), generator=data_rng)
                noise = torch.randn(x0.shape, generator=data_rng)
                x_t = schedule.add_noise(x0, noise.to(dev), t.to(dev))
                for group in optimizer.param_groups:
                    group["lr"] = official_lr(step, total, lr, warm)
                error = (model(x_t, t.to(dev)) - noise.to(dev)) ** 2
                value = error.sum() / 1000.0 if loss == "official" else error.mean()
                loss_value = value.detach().item()
                if not math.isfinite(loss_value):
                    raise TrainingDiverged(f"generator training diverged at step {step + 1} (loss {loss_value}); weights restored")
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                if settings["grad_clip"]:
                    nn.utils.clip_grad_norm_(model.parameters(), settings["grad_clip"])
                optimizer.step()
                ema_updates += 1
                update_ema(ema, model, min(settings["ema_decay"], (1.0 + ema_updates) / (10.0 + ema_updates)))
                step += 1
                steps_this_run += 1
                losses.append(loss_value)
                elapsed = time.perf_counter() - start
                per_step = elapsed / steps_this_run
                progress(Progress(step, total, "training generator", {
                    "epoch": step // per_epoch + 1, "step": step, "loss": losses[-1],
                    "lr": optimizer.param_groups[0]["lr"], "eta_s": per_step * (total - step)}))
                if state_path and save_every and step % save_every == 0 and step < total:
                    save_state(state_path)
                if budget_s is not None and step < total and elapsed + (time.perf_counter() - step_start) > budget_s:
                    stopped = "budget"
                    break
        except (Cancelled, TrainingDiverged):
            if state_path and cancel.cancelled:
                save_state(state_path)
            model.load_state_dict(initial)
            raise
    if state_path:
        save_state(state_path)

    elapsed = time.perf_counter() - start
    ema.to(dev).eval()
    metadata = {
        "architecture": "diffusion_ukan",
        "config": config.to_dict() if hasattr(config, "to_dict") else None,
        "pairs": pairs, "image_size": size, "channels": channels,
        "schedule": schedule.to_dict(),
        "training": {"steps": step, "total_steps": total, "stopped": stopped, "time_s": round(elapsed, 1),
                     "final_loss": losses[-1] if losses else None, "ema": True, **settings},
    }
    result = DiffusionTrainResult(model=ema, steps_done=step, total_steps=total, stopped=stopped, time_s=elapsed,
                                  losses=losses, metadata=metadata, state_path=Path(state_path) if state_path else None)
    if name:
        if store is None:
            from ukan_core.store import ModelStore

            store = ModelStore()
        result.version = store.add_version(name, ema, {**metadata, "name": name})
    return result
