"""Benchmark: our default sampler vs the official 1000-step DDPM, wall time and quality (run by hand).

    python tests/benchmarks/bench_generate.py [--model GEN] [--n 16] [--threads 2] [--device cpu]
                                              [--grid bench_generate_grid.png] [--full-ddpm]

1. Wall time for `--n` images at 64x64 with the same model: the default sampler (DPM-Solver++ 2M,
   20 steps) timed end to end through `generate()`, and the official sampler (ancestral DDPM,
   1000 steps) estimated from a few timed steps (x 1000; `--full-ddpm` runs it all). Without
   `--model` the model is the official default Diffusion U-KAN (26.9 M parameters) with
   perturbed weights, so the images are meaningless but the timing is exact.
2. Quality without training noise: a closed-form denoiser, the exact E[ε | x_t] for a data set of
   64 synthetic images, each blurred by Gaussian noise of std 0.1 (a Gaussian mixture), so every
   perfect sample is one of those images plus that noise. The table gives the RMS distance (grey
   levels) from each sample to its nearest data image, which should equal the noise (12.75), for
   each sampler and step count, next to DDPM with 1000 steps.
3. A PNG grid for a visual check: the oracle's samples from the default sampler (top rows) and
   from 1000-step DDPM (bottom rows) from the same seeds, then the model's default-sampler
   samples (and its DDPM samples with --full-ddpm).
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ukan_core.diffusion.pipeline import generate, load_generator  # noqa: E402
from ukan_core.diffusion.samplers import DEFAULT_SAMPLER, SAMPLERS, make_sampler, sample_noise  # noqa: E402
from ukan_core.diffusion.schedule import NoiseSchedule  # noqa: E402
from ukan_core.models.configs import DiffusionUKANConfig  # noqa: E402
from ukan_core.models.registry import build_model  # noqa: E402

SCHEDULE = NoiseSchedule()
SPREAD = 0.1  # std of the oracle's data around each image, in [-1, 1] units (12.75 grey levels)


class MixtureOracle(torch.nn.Module):
    """Exact ε(x_t, t) when the data are the images `data` (K, C, H, W) plus N(0, spread²) noise."""

    def __init__(self, data: torch.Tensor, spread: float) -> None:
        super().__init__()
        self.data, self.spread = data, spread
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives generate() a device

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = SCHEDULE.alphas_cumprod[t.cpu()].to(x.device, torch.float64).view(-1, 1)
        flat, data = x.flatten(1).double(), self.data.flatten(1).double().to(x.device)
        var = a * self.spread**2 + (1 - a)  # of x_t given the component
        # |x - sqrt(a) d|^2 for every sample and data image, via one matrix product
        dist = ((flat**2).sum(1, keepdim=True) - 2 * a.sqrt() * (flat @ data.T)
                + a * (data**2).sum(1)[None, :])
        weights = torch.softmax(-dist / (2 * var), dim=1)
        eps = (1 - a).sqrt() / var * (flat - a.sqrt() * (weights @ data))
        return eps.float().view_as(x)


def synthetic_images(k: int = 64, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Simple ultrasound-like scenes: a speckled grey gradient with one or two dark ellipses."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        y = np.linspace(0, 1, size)[:, None]
        img = (90 + 80 * y + rng.normal(0, 12, (size, size))).clip(0, 255)
        for _ in range(rng.integers(1, 3)):
            centre = (int(rng.integers(12, size - 12)), int(rng.integers(12, size - 12)))
            axes = (int(rng.integers(5, 16)), int(rng.integers(4, 12)))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(10, 50)), -1)
        img = cv2.GaussianBlur(img.astype(np.float32), (3, 3), 0)
        tint = np.array([1.0, 0.95, 0.9])[:, None, None]
        out.append(np.clip(img[None] * tint, 0, 255) / 127.5 - 1.0)
    return torch.tensor(np.stack(out), dtype=torch.float32)


def residual_noise(samples: np.ndarray, data: torch.Tensor) -> tuple[float, float]:
    """(mean, spread over samples) of the RMS grey-level distance to the nearest data image.

    A perfect sampler gives the data's spread (SPREAD x 127.5 grey levels) for every sample:
    lower means over-smoothed samples, higher means leftover noise.
    """
    x = torch.from_numpy(samples).permute(0, 3, 1, 2).flatten(1).double()
    d = (data.flatten(1).double() + 1) * 127.5
    rms = torch.cdist(x, d).min(dim=1).values / math.sqrt(x.shape[1])
    return float(rms.mean()), float(rms.std())


def grid(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of (N, H, W, 3) uint8 images -> one RGB image with 2-pixel white gaps."""
    h, w = rows[0].shape[1:3]
    n = max(r.shape[0] for r in rows)
    canvas = np.full((len(rows) * (h + 2), n * (w + 2), 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            canvas[i * (h + 2):i * (h + 2) + h, j * (w + 2):j * (w + 2) + w] = img[..., :3]
    return canvas


def time_official_steps(model: torch.nn.Module, n: int, size: int, channels: int, steps: int) -> float:
    """Seconds per step of the official sampler (DDPM) at batch n, from `steps` timed steps."""
    sampler = make_sampler("ddpm", SCHEDULE)
    sampler.set_timesteps(1000)
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(0)
    x = sample_noise((n, channels, size, size), g, device=device)
    times = []
    with torch.inference_mode():
        for t in sampler.timesteps[: steps + 1].tolist():
            start = time.perf_counter()
            x = sampler.step(model(x, torch.full((n,), t, device=device)), t, x, generator=g).prev_sample
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))  # the first step warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a trained generator (default: the official config, perturbed)")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--steps", type=int, default=None, help="default sampler steps (default: its own)")
    parser.add_argument("--timed-ddpm-steps", type=int, default=3)
    parser.add_argument("--full-ddpm", action="store_true", help="run all 1000 DDPM steps on the model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--grid", type=Path, default=Path("bench_generate_grid.png"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    steps = args.steps or SAMPLERS[DEFAULT_SAMPLER].default_steps
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {args.threads} threads, {device}")

    # 1. Wall time on the real network.
    if args.model:
        model, _ = load_generator(args.model, device=device)
    else:
        torch.manual_seed(0)
        model = build_model("diffusion_ukan", DiffusionUKANConfig()).to(device)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(0.02 * torch.randn(p.shape, generator=g).to(device))
    model.eval()
    size, channels = model.config.image_size, model.config.in_channels
    params = sum(p.numel() for p in model.parameters())
    # DDPM steps timed before and after ours, so that load from other processes hits both alike.
    before = time_official_steps(model, args.n, size, channels, args.timed_ddpm_steps)
    start = time.perf_counter()
    ours = generate(model, DEFAULT_SAMPLER, num_images=args.n, num_steps=steps, seed=0, batch_size=args.n)
    ours_s = time.perf_counter() - start
    per_step = (before + time_official_steps(model, args.n, size, channels, args.timed_ddpm_steps)) / 2
    official_s = per_step * 1000
    print(f"\nmodel: {params / 1e6:.1f} M parameters, {args.n} images at {size}x{size}, {channels} channels")
    print(f"  {DEFAULT_SAMPLER} {steps} steps (measured)      : {ours_s:8.1f} s  ({ours_s / steps:.2f} s/step)")
    print(f"  official DDPM 1000 steps (estimated): {official_s:8.1f} s  ({per_step:.2f} s/step, median of "
          f"{args.timed_ddpm_steps}, before and after)")
    print(f"  ratio: {official_s / ours_s:.1f}x less wall time (target >= 20x)")
    rows_model = [ours]
    if args.full_ddpm:
        start = time.perf_counter()
        rows_model.append(generate(model, "ddpm", num_images=args.n, seed=0, batch_size=args.n))
        print(f"  official DDPM 1000 steps (measured) : {time.perf_counter() - start:8.1f} s")

    # 2. Quality with the exact denoiser of a known data set.
    data = synthetic_images()
    oracle = MixtureOracle(data, SPREAD)
    print(f"\nquality with the exact denoiser: RMS grey levels from each sample to its nearest data image, "
          f"mean ± sd over samples (perfect: {SPREAD * 127.5:.2f} ± 0)")
    cases = [("ddpm", 1000, {})] + [(name, s, {}) for name in ("dpmpp2m", "ddim") for s in (10, 15, 20, 25, 50)]
    cases += [("ddpm", 50, {}), ("ddpm", 100, {})]
    oracle_rows = {}
    for name, s, options in cases:
        start = time.perf_counter()
        out = generate(oracle, make_sampler(name, SCHEDULE, **options), num_images=args.n, num_steps=s, seed=0)
        mean, spread = residual_noise(out, data)
        print(f"  {name:8s} {s:5d} steps: {mean:6.2f} ± {spread:4.2f}   ({time.perf_counter() - start:.1f} s)")
        oracle_rows[(name, s)] = out

    # 3. The grid: oracle default sampler, oracle DDPM 1000, then the model's samples.
    rows = [oracle_rows[(DEFAULT_SAMPLER, steps)] if (DEFAULT_SAMPLER, steps) in oracle_rows else
            generate(oracle, DEFAULT_SAMPLER, num_images=args.n, num_steps=steps, seed=0),
            oracle_rows[("ddpm", 1000)]]
    rows += [r if r.shape[-1] >= 3 else np.repeat(r[..., :1], 3, axis=-1) for r in rows_model]
    cv2.imwrite(str(args.grid), cv2.cvtColor(grid(rows), cv2.COLOR_RGB2BGR))
    print(f"\ngrid written to {args.grid}: rows = oracle {DEFAULT_SAMPLER} {steps}, oracle DDPM 1000, "
          f"model {DEFAULT_SAMPLER} {steps}" + (", model DDPM 1000" if args.full_ddpm else ""))


if __name__ == "__main__":
    main()
