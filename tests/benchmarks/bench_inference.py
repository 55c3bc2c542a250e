"""Benchmark: plain eager U-KAN vs `optimize_for_inference`, side by side (run by hand, not by pytest).

    python tests/benchmarks/bench_inference.py [--config ukan] [--size 256] [--batches 1 8] [--runs 7] [--threads 2]

Both paths run under `torch.inference_mode()` on the same model (seeded, then perturbed like the
reference fixtures so BatchNorm statistics and biases are non-trivial) and the same inputs. Runs
alternate between the two paths so that load from other processes hits both alike; the table
shows the median and best time per forward, the speed-up (eager / fast, from medians and from
bests) and the largest absolute difference between the two outputs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ukan_core.models.registry import NAMED_CONFIGS, build_model  # noqa: E402
from ukan_core.models.fast import optimize_for_inference  # noqa: E402


def _perturbed_model(config_name: str) -> torch.nn.Module:
    """A model with trained-looking weights: params += 0.05 N(0,1), BN running stats from 3 batches."""
    torch.manual_seed(0)
    model = build_model("ukan", NAMED_CONFIGS[config_name])
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
        model.train()
        for _ in range(3):
            model(torch.randn(2, 3, 64, 64) * 1.5 + 0.2)
    return model.eval()


def _time_once(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="ukan", choices=sorted(NAMED_CONFIGS))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    eager = _perturbed_model(args.config)
    fast = optimize_for_inference(eager)
    print(
        f"U-KAN '{args.config}' {args.size}x{args.size}, torch {torch.__version__}, {args.threads} threads, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"{args.runs} alternating runs after {args.warmup} warm-up"
    )
    header = ("batch", "eager med/best s", "fast med/best s", "speed-up med/best", "max |diff|")
    print(f"{header[0]:>5}  {header[1]:>17}  {header[2]:>16}  {header[3]:>17}  {header[4]:>10}")
    for batch in args.batches:
        x = torch.randn(batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            diff = (eager(x) - fast(x)).abs().max().item()
            for _ in range(args.warmup):
                eager(x)
                fast(x)
            eager_times, fast_times = [], []
            for _ in range(args.runs):
                eager_times.append(_time_once(eager, x))
                fast_times.append(_time_once(fast, x))
        e_med, f_med = statistics.median(eager_times), statistics.median(fast_times)
        e_min, f_min = min(eager_times), min(fast_times)
        print(
            f"{batch:>5}  {e_med:>8.3f}/{e_min:<8.3f}  {f_med:>7.3f}/{f_min:<8.3f}  "
            f"{f'{e_med / f_med:.2f}x/{e_min / f_min:.2f}x':>17}  {diff:>10.2e}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
