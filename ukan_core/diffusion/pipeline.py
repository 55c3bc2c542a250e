"""Generate images (or image + mask pairs) with a Diffusion U-KAN and any sampler.

One loop for every sampler: draw noise, then for each timestep ask the denoiser for ε and let
the sampler take a step. Images are made in batches to bound memory, and image i of seed s is
the same whatever the batch size or the number of images asked for: each image draws its noise
from its own generator, seeded from (s, i), on the CPU.
"""

from __future__ import annotations

import secrets
from typing import Callable

import numpy as np
import torch
from torch import nn

from ukan_core.diffusion.samplers import DEFAULT_SAMPLER, Sampler, make_sampler
from ukan_core.diffusion.schedule import NoiseSchedule
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

PreviewCallback = Callable[[np.ndarray, int], None]


def image_generators(seed: int, first: int, count: int) -> list[torch.Generator]:
    """One CPU generator per image `first .. first+count-1`, each seeded from (seed, index)."""
    states = [np.random.SeedSequence([int(seed), i]).generate_state(2, dtype=np.uint32) for i in range(first, first + count)]
    return [torch.Generator().manual_seed(int(s[0]) << 32 | int(s[1])) for s in states]


def to_uint8(samples: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8, rounded as the official `save_image` does."""
    x01 = samples.clamp(-1.0, 1.0) * 0.5 + 0.5
    return (x01 * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def split_pairs(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split samples of a pairs model into images and masks.

    The last channel is the mask: 1 where the model's value is >= 0 (uint8 >= 128), else 0.
    Returns images (N, H, W, 3) or (N, H, W) for a grey model, and masks (N, H, W) uint8 0/1.
    """
    if samples.ndim != 4 or samples.shape[-1] not in (2, 4):
        raise ValueError(f"pairs samples must be (N, H, W, 2 or 4), got {samples.shape}")
    images = samples[..., :-1]
    if images.shape[-1] == 1:
        images = images[..., 0]
    masks = (samples[..., -1] >= 128).astype(np.uint8)
    return np.ascontiguousarray(images), masks


def sampler_for(denoiser: nn.Module, name: str, *, eta: float = 0.0) -> Sampler:
    """The sampler called `name` over `denoiser`'s own schedule; `eta` is DDIM's noise (other samplers have none)."""
    options = {"eta": eta} if name == "ddim" else {}
    return make_sampler(name, NoiseSchedule.for_model(denoiser), **options)


def _model_fact(model: nn.Module, name: str, default: int) -> int:
    return int(getattr(getattr(model, "config", None), name, default))


def generate(
    denoiser: nn.Module,
    sampler: Sampler | str = DEFAULT_SAMPLER,
    *,
    num_images: int,
    image_size: int | None = None,
    num_steps: int | None = None,
    seed: int | None = None,
    channels: int | None = None,
    batch_size: int = 16,
    on_progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER,
    preview_every: int = 0,
    on_preview: PreviewCallback | None = None,
) -> np.ndarray:
    """Sample `num_images` images; returns (N, H, W, C) uint8 (C = the model's channels).

    `sampler` is a sampler or its name ("ddpm", "ddim", "dpmpp2m"; built on the official schedule
    with the model's T). `image_size`, `num_steps` and `channels` default to the model's config and
    the sampler's own step count. Runs in eval and inference mode on the denoiser's device; the
    denoiser's train/eval mode is restored afterwards. `cancel` is checked before every step
    (raises Cancelled). Every `preview_every` steps (and at the last), `on_preview(x̂0 as (B, H, W, C)
    uint8, index of the batch's first image)` gets the current estimate of the clean images.
    Same seed, same images; `seed=None` picks a random one.
    """
    if num_images < 1:
        raise ValueError(f"num_images must be at least 1, got {num_images}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if isinstance(sampler, str):
        sampler = sampler_for(denoiser, sampler)
    size = int(image_size or _model_fact(denoiser, "image_size", 64))
    channels = int(channels or _model_fact(denoiser, "in_channels", 3))
    steps = int(num_steps or sampler.default_steps)
    seed = secrets.randbits(63) if seed is None else int(seed)
    sampler.set_timesteps(steps)
    timesteps = sampler.timesteps.tolist()
    device = next(denoiser.parameters()).device
    batches = [(first, min(batch_size, num_images - first)) for first in range(0, num_images, batch_size)]
    total = len(batches) * len(timesteps)
    out = np.empty((num_images, size, size, channels), dtype=np.uint8)

    was_training = denoiser.training
    denoiser.eval()
    try:
        with torch.inference_mode():
            for b, (first, count) in enumerate(batches):
                generators = image_generators(seed, first, count)
                x = torch.stack([torch.randn((channels, size, size), generator=g) for g in generators]).to(device)
                sampler.set_timesteps(steps)  # resets multistep history
                for i, t in enumerate(timesteps):
                    cancel.raise_if_cancelled()
                    t_batch = torch.full((count,), t, dtype=torch.long, device=device)
                    result = sampler.step(denoiser(x, t_batch), t, x, generator=generators)
                    x = result.prev_sample
                    last = i == len(timesteps) - 1
                    if on_preview is not None and preview_every > 0 and ((i + 1) % preview_every == 0 or last):
                        on_preview(to_uint8(result.pred_original_sample), first)
                    on_progress(Progress(
                        b * len(timesteps) + i + 1, total,
                        f"denoising images {first + 1}-{first + count} of {num_images}",
                        {"step": i + 1, "steps": len(timesteps), "batch": b + 1, "batches": len(batches), "seed": seed},
                    ))
                out[first:first + count] = to_uint8(x)
    finally:
        denoiser.train(was_training)
    return out


def load_generator(name_or_path: str, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """A Diffusion U-KAN from a store name, our .safetensors or an official .pt/.pth, with its metadata.

    Raises CheckpointError (one line) when the file holds another kind of model.
    """
    from pathlib import Path

    from ukan_core.errors import CheckpointError
    from ukan_core.io import checkpoints
    from ukan_core.model_refs import resolve_model

    path = resolve_model(name_or_path)
    if Path(path).suffix.lower() == ".safetensors":
        model, info = checkpoints.load_checkpoint(path, device=device)
    else:
        model, info = checkpoints.import_official(path)
        model = model.to(device).eval()
    if getattr(model, "architecture", None) != "diffusion_ukan":
        raise CheckpointError(f"{Path(path).name}: not a Diffusion U-KAN generator (it is a {info.get('architecture', 'different')} model)")
    return model, dict(info)


def is_pairs_model(model: nn.Module, info: dict | None = None) -> bool:
    """True for a generator trained on image + mask pairs (the mask is its last channel)."""
    if info and "pairs" in info:
        return bool(info["pairs"])
    return _model_fact(model, "in_channels", 3) in (2, 4)
