"""Benchmark: the numpy bilinear upsampling of explain maps against torch's F.interpolate (run by hand).

    python tests/benchmarks/bench_explain_upsample.py [--sizes 256 1024 2048] [--channels 32] [--grid 32]
                                                      [--repeats 3] [--threads 2]

`ukan explain`, the Studio's Explain worker and the panel all upsample token-grid maps with
`ukan_core.explain.upsample.to_image_size` (numpy, so the panel needs no torch). This prints, per
image size, the best-of-`--repeats` wall time of both for `--channels` maps of `--grid`² tokens,
and the largest difference between them (float32 rounding only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ukan_core.explain.upsample import to_image_size  # noqa: E402


def _best(fn, repeats: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 2048], help="square image sizes")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--grid", type=int, default=32, help="token grid side (network input / 8)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (numpy's BLAS uses its own)")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    maps = np.random.default_rng(0).normal(size=(args.channels, args.grid, args.grid)).astype(np.float32)
    net = (args.grid * 8, args.grid * 8)
    print(f"{args.channels} maps of {args.grid}x{args.grid} tokens, best of {args.repeats}")
    print(f"{'image':>11}  {'numpy ms':>9}  {'torch ms':>9}  {'max |diff|':>10}")
    for side in args.sizes:
        size = (side, side)
        t_np, ours = _best(lambda: to_image_size(maps, size, net, "resize"), args.repeats)
        t_torch, ref = _best(lambda: F.interpolate(torch.from_numpy(maps)[None], size=size, mode="bilinear",
                                                   align_corners=False)[0].numpy(), args.repeats)
        print(f"{side:>5}x{side:<5}  {t_np * 1000:9.1f}  {t_torch * 1000:9.1f}  {np.abs(ours - ref).max():10.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
