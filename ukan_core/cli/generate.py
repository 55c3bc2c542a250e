"""`ukan generate`: sample synthetic images (or image + mask pairs) from a Diffusion U-KAN.

    ukan generate --out DIR [--model M] [--n 16] [--sampler ddpm|ddim|dpmpp2m] [--steps S] [--eta E]
                  [--seed K] [--pairs] [--batch-size B] [--device D]

On a terminal it shows what it loads and a progress bar of the denoising steps on stderr;
in a pipe or a log only the final line (stdout) is written.

Writes `DIR/gen_0000.png`, ... or, for a pairs model, `DIR/images/gen_0000.png` and
`DIR/masks/0/gen_0000.png` (masks 0/255: the official layout the training engine reads).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from ukan_core.atomic import atomic_path
from ukan_core.cli.terminal import TerminalProgress, status
from ukan_core.device import DEVICE_CHOICES
from ukan_core.errors import UkanError
from ukan_core.model_refs import DEFAULT_GENERATOR

SAMPLER_NAMES = ("ddpm", "ddim", "dpmpp2m")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="sample synthetic images (or image + mask pairs) from a Diffusion U-KAN",
        description="Sample images from a Diffusion U-KAN generator and write them as PNGs.",
    )
    parser.add_argument("--model", default=DEFAULT_GENERATOR,
                        help=f"generator: a store name, a .safetensors or an official .pt (default: the bundled "
                             f"{DEFAULT_GENERATOR}, which makes 64x64 image + mask pairs)")
    parser.add_argument("--n", type=int, default=16, help="number of images (default 16)")
    parser.add_argument("--sampler", choices=SAMPLER_NAMES, default=None,
                        help="dpmpp2m (20 steps), ddim (50 steps) or ddpm (the official 1000 steps); default: the "
                             "generator's recommended sampler when its file names one, else dpmpp2m")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default: the sampler's own)")
    parser.add_argument("--eta", type=float, default=None,
                        help="DDIM noise: 0 deterministic (default), 1 DDPM-like")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same images (default: random, printed)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--pairs", action="store_true", help="write images/ + masks/0/ (needs a model trained on pairs)")
    parser.add_argument("--batch-size", type=int, default=16, help="images denoised at once (memory bound)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import secrets

    from ukan_core.device import pick_device
    from ukan_core.diffusion.pipeline import generate, is_pairs_model, load_generator, sampler_for, split_pairs

    if args.n < 1:
        raise UkanError(f"--n must be at least 1, got {args.n}")
    device = pick_device(args.device)
    status(f"loading {args.model} on {device} ...")
    model, info = load_generator(args.model, device=device)
    pairs = is_pairs_model(model, info)
    if args.pairs and not pairs:
        raise UkanError(f"{args.model}: --pairs needs a generator trained on image + mask pairs; this one makes images only")
    _apply_recommended_sampler(args, info.get("recommended_sampler"))
    sampler = sampler_for(model, args.sampler, eta=args.eta)
    steps = args.steps or sampler.default_steps
    T = sampler.schedule.num_train_timesteps  # noqa: N806
    if not 1 <= steps <= T:
        raise UkanError(f"--steps must be between 1 and {T}, got {steps}")
    seed = secrets.randbits(31) if args.seed is None else args.seed

    start = time.perf_counter()
    total = -(-args.n // args.batch_size) * steps
    with TerminalProgress(total, unit="step", desc=f"generating {args.n} with {args.sampler}") as bar:
        samples = generate(model, sampler, num_images=args.n, num_steps=steps, seed=seed,
                           batch_size=args.batch_size, on_progress=bar.report)
    elapsed = time.perf_counter() - start

    out: Path = args.out
    if pairs:
        images, masks = split_pairs(samples)
        for i in range(args.n):
            _write_png(out / "images" / f"gen_{i:04d}.png", images[i])
            _write_png(out / "masks" / "0" / f"gen_{i:04d}.png", masks[i] * np.uint8(255))
        what = f"{args.n} image + mask pairs to {out} (images/, masks/0/)"
    else:
        for i in range(args.n):
            _write_png(out / f"gen_{i:04d}.png", samples[i] if samples.shape[-1] != 1 else samples[i, ..., 0])
        what = f"{args.n} images to {out}"
    eta = f" (eta {args.eta:g})" if args.sampler == "ddim" else ""
    print(f"wrote {what}: sampler {args.sampler}{eta}, {steps} steps, seed {seed}, {elapsed:.1f} s")
    return 0


def _apply_recommended_sampler(args: argparse.Namespace, recommended: object) -> None:
    """Fill the sampler options the user left out: the generator's recommendation, else dpmpp2m / η 0.

    The recommendation's steps and η apply only when its sampler is the one used.
    """
    choice = recommended if isinstance(recommended, dict) and recommended.get("sampler") in SAMPLER_NAMES else {}
    if args.sampler is None:
        args.sampler = choice.get("sampler", "dpmpp2m")
    if choice.get("sampler") == args.sampler:
        if args.steps is None and isinstance(choice.get("steps"), int):
            args.steps = choice["steps"]
        if args.eta is None and isinstance(choice.get("eta"), (int, float)):
            args.eta = float(choice["eta"])
    if args.eta is None:
        args.eta = 0.0


def _write_png(path: Path, pixels: np.ndarray) -> None:
    """Write an RGB (H, W, 3) or grey (H, W) uint8 image atomically."""
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", pixels)
    if not ok:
        raise UkanError(f"{path.name}: could not encode the PNG")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())
