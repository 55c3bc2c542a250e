"""Benchmark: `ukan segment` on a folder vs the model-only forward loop, plus ONNX Runtime vs torch.

    python tests/benchmarks/bench_segment_folder.py [--n 500] [--size 512] [--batch-size 4] [--threads 2]
                                                    [--single-pass-threads 2] [--repeats 3]

Writes N size×size PNG images (smooth random blobs) to a temporary folder, then, in one run:
- `ukan segment` with the bundled model as a child process; images/s is N over the time of its
  folder loop (read, prepare, segment, write every file, after one warm-up forward pass), so
  imports and model loading are left out; the child's peak RSS is printed for N/4 and N images
  (bounded memory: it must not grow with the folder); it splits the cores itself (forward passes
  side by side, `segment_pipeline.cpu_split`);
- the same command with OMP_NUM_THREADS=--single-pass-threads: one forward pass at a time on that
  many threads (what it did before it split the cores);
- the model-only limit: the same Segmenter's forward passes over the same inputs, decoded and
  prepared beforehand, in batches of --batch-size (warmed up first);
Each is run --repeats times, alternating, and the best run is shown.
- ONNX Runtime vs the torch path per image on those inputs (needs the `[onnx]` extra).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _write_images(folder: Path, n: int, size: int) -> list[Path]:
    import cv2

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    base = cv2.GaussianBlur(rng.integers(0, 256, (size, size), dtype=np.uint8), (0, 0), 9)
    paths = []
    for i in range(n):
        image = np.roll(base, 7 * i, axis=1) + rng.integers(0, 16, (size, size), dtype=np.uint8)
        paths.append(folder / f"scan{i:05d}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    return paths


def _child(argv: list[str]) -> int:
    """Run `ukan` in this process; print the seconds of its folder loop and its peak RSS.

    The loop (`segment_files`: read, prepare, segment, write every file) is timed after one
    untimed forward pass, as the model-only loop is warmed up: imports and model loading are
    the same for any folder and are left out.
    """
    from ukan_core import segment_pipeline
    from ukan_core.cli.main import main

    real = segment_pipeline.segment_files

    def timed(segmenter, images, *rest, **options):
        x = segmenter.prepare(np.zeros((64, 64, 3), np.uint8))
        segmenter.forward(np.stack([x] * segmenter.batch_size))
        start = time.perf_counter()
        outcome = real(segmenter, images, *rest, **options)
        print(f"segment_seconds={time.perf_counter() - start}", file=sys.stderr)
        return outcome

    segment_pipeline.segment_files = timed
    code = main(argv)
    print(f"peak_rss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
    return code


def _segment(folder: Path, out: Path, args: argparse.Namespace, threads: int | None = None) -> tuple[float, int]:
    """(seconds of the folder loop, peak RSS in KiB) of one `ukan segment` child process; `threads`: with
    OMP_NUM_THREADS set to it (one forward pass at a time on that many threads), else the command's own
    split of the cores (`segment_pipeline.cpu_split`)."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_NUM_THREADS", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    run = subprocess.run([sys.executable, __file__, "--child", "segment", str(folder), "--out", str(out),
                          "--batch-size", str(args.batch_size)], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SystemExit(f"ukan segment failed ({run.returncode}): {run.stderr.strip()[-500:]}")
    seconds = float(run.stderr.rsplit("segment_seconds=", 1)[1].split()[0])
    rss = int(run.stderr.rsplit("peak_rss_kb=", 1)[1].split()[0])
    return seconds, rss


def _forward_loop(segmenter, inputs: list[np.ndarray], batch_size: int, repeats: int = 2) -> float:
    """Best seconds per image of the forward passes alone over `inputs`."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(inputs), batch_size):
            segmenter.forward(np.stack(inputs[i:i + batch_size]))
        best = min(best, (time.perf_counter() - start) / len(inputs))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the model-only loop")
    parser.add_argument("--single-pass-threads", type=int, default=2,
                        help="also time `ukan segment` with OMP_NUM_THREADS=N: one forward pass at a time on N "
                             "threads, as before the command split the cores (0: skip)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; the best is shown")
    args = parser.parse_args(argv)

    import torch

    from ukan_core.inference import Segmenter
    from ukan_core.model_refs import DEFAULT_MODEL
    from ukan_core.io.images import read_image, to_rgb8
    from ukan_core.onnx_support import missing_onnx_packages
    from ukan_core.segment_pipeline import cpu_split

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="ukan-bench-") as scratch:
        root = Path(scratch)
        paths = _write_images(root / "all", args.n, args.size)
        quarter = root / "quarter"
        quarter.mkdir()
        for path in paths[: max(1, args.n // 4)]:
            shutil.copy(path, quarter)
        segmenter = Segmenter.from_name_or_path(DEFAULT_MODEL, device="cpu", batch_size=args.batch_size)
        inputs = [segmenter.prepare(to_rgb8(read_image(p))) for p in paths]
        _forward_loop(segmenter, inputs[: 4 * args.batch_size], args.batch_size, repeats=1)   # warm-up
        _, rss_quarter = _segment(quarter, root / "outq", args)
        t_all = t_single = per_image = float("inf")
        rss_all = 0
        for _ in range(args.repeats):   # alternate the paths so that load from other processes hits all alike
            seconds, rss = _segment(root / "all", root / "out", args)
            t_all, rss_all = min(t_all, seconds), max(rss_all, rss)
            if args.single_pass_threads:
                t_single = min(t_single, _segment(root / "all", root / "out", args, args.single_pass_threads)[0])
            per_image = min(per_image, _forward_loop(segmenter, inputs, args.batch_size, repeats=1))
        command = args.n / t_all
        model_only = 1.0 / per_image
        workers, threads, readers = cpu_split()
        print(f"{args.n} images {args.size}x{args.size} PNG, bundled model {DEFAULT_MODEL}, batch {args.batch_size}, "
              f"{os.cpu_count()} cores; `ukan segment`: {workers} forward worker(s) x {threads} torch thread(s), "
              f"{readers} readers, 1 writer; model-only: one loop on {args.threads} torch threads")
        print("| path | images/s | ms/image | peak RSS |")
        print("| --- | --- | --- | --- |")
        print(f"| `ukan segment` (read, prepare, segment, write) | {command:.1f} | {1000 / command:.2f} | "
              f"{rss_all / 1024:.0f} MiB ({rss_quarter / 1024:.0f} MiB for {max(1, args.n // 4)} images) |")
        if args.single_pass_threads:
            single = args.n / t_single
            print(f"| `ukan segment`, OMP_NUM_THREADS={args.single_pass_threads} (one forward pass at a time) | "
                  f"{single:.1f} | {1000 / single:.2f} | - |")
        print(f"| model-only forward loop (pre-decoded inputs) | {model_only:.1f} | {1000 * per_image:.2f} | - |")
        print(f"ratio command / model-only: {command / model_only:.2f}"
              + (f" (one pass at a time on {args.single_pass_threads} threads: {single / model_only:.2f})"
                 if args.single_pass_threads else ""))

        if missing_onnx_packages(export=True):
            print('ONNX Runtime: skipped (pip install "ukan-studio[onnx]")')
            return 0
        from ukan_core.model_refs import load_model_with_info
        from ukan_core.onnx_export import export_onnx
        from ukan_core.onnx_runtime import OnnxSegmenter

        model, info = load_model_with_info(DEFAULT_MODEL)
        onnx_path = export_onnx(model, info, root / "model.onnx")
        runner = OnnxSegmenter(onnx_path, batch_size=args.batch_size, threads=args.threads)
        sample = inputs[: min(len(inputs), 64)]
        torch_ms = 1000 * _forward_loop(segmenter, sample, args.batch_size)
        onnx_ms = 1000 * _forward_loop(runner, sample, args.batch_size)
        diff = max(float(np.abs(runner.forward(x[None]) - segmenter.forward(x[None])).max()) for x in sample[:8])
        print(f"ONNX Runtime {onnx_ms:.2f} ms/image vs torch {torch_ms:.2f} ms/image "
              f"({torch_ms / onnx_ms:.2f}x), max abs probability difference {diff:.1e}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        raise SystemExit(_child(sys.argv[2:]))
    raise SystemExit(main())
