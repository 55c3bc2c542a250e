"""Benchmark: our training step vs a plain eager loop, and a fine-tune's wall time (run by hand).

    python tests/benchmarks/bench_train.py [--config ukan] [--batch 8] [--size 256] [--steps 4]
                                           [--threads 2] [--finetune-images 10] [--skip-finetune]

Each measurement runs in its own subprocess, so peak RSS (ru_maxrss) is per path:
- plain: the official-equivalent eager U-KAN (contiguous, Cox-de Boor KANLinear), Adam with the
  official one-group-per-parameter rates (KAN 1e-2, rest 1e-4, wd 1e-4) and BCEDiceLoss;
- ours: `TrainStep` inside `training_layout` (channels_last, lean KAN layers), the PAPER recipe.
Both train on the same random batch after the same seed; the time per step is the median after
`--warmup` steps (also the process CPU time, steadier on a shared machine). The fine-tune run writes synthetic images and times `finetune` (FINETUNE recipe)
from the bundled default model (or a fresh model when none is bundled), nothing saved.
Targets (2 cores): step time ≤ 0.67x and peak RSS ≤ 0.5x of the plain loop; fine-tune ≤ 2 min.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step_child(args: argparse.Namespace) -> dict:
    import torch

    from ukan_core.models.registry import NAMED_CONFIGS, build_model
    from ukan_core.training.losses import BCEDiceLoss
    from ukan_core.training.recipes import PAPER
    from ukan_core.training.trainer import TrainStep, training_layout

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model("ukan", NAMED_CONFIGS[args.config]).train()
    g = torch.Generator().manual_seed(1)
    images = torch.randn(args.batch, 3, args.size, args.size, generator=g)
    masks = (torch.rand(args.batch, 1, args.size, args.size, generator=g) > 0.7).float()
    rss_before = _peak_rss_mb()
    times, cpu_times, losses = [], [], []
    if args.impl == "plain":
        groups = [
            {"params": [p], "lr": 1e-2 if ("layer" in n and "fc" in n) else 1e-4, "weight_decay": 1e-4}
            for n, p in model.named_parameters()
        ]
        optimizer = torch.optim.Adam(groups)
        criterion = BCEDiceLoss()
        for _ in range(args.warmup + args.steps):
            start, cpu = time.perf_counter(), time.process_time()
            optimizer.zero_grad()
            loss = criterion(model(images), masks)
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu)
            losses.append(float(loss))
    else:
        device = torch.device("cpu")
        with training_layout(model, PAPER, device) as memory_format:
            stepper = TrainStep(model, model, PAPER, device)
            x = images.contiguous(memory_format=memory_format)
            for i in range(args.warmup + args.steps):
                start, cpu = time.perf_counter(), time.process_time()
                loss = stepper.backward(x, masks, lr_fraction=0.0)
                stepper.apply()
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu)
                losses.append(loss)
    measured = times[args.warmup:]
    cpu = cpu_times[args.warmup:]
    return {"impl": args.impl, "median_s": statistics.median(measured), "min_s": min(measured),
            "cpu_median_s": statistics.median(cpu), "cpu_min_s": min(cpu),
            "times": measured, "losses": losses, "peak_rss_mb": _peak_rss_mb(), "rss_before_mb": rss_before}


def _finetune_child(args: argparse.Namespace) -> dict:
    import torch

    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.data.synthetic import write_synthetic_dataset
    from ukan_core.model_refs import DEFAULT_MODEL, resolve_model
    from ukan_core.models.registry import NAMED_CONFIGS, build_model
    from ukan_core.training.finetune import finetune

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["UKAN_STUDIO_HOME"] = str(Path(tmp) / "home")
        data = Path(tmp) / "data"
        write_synthetic_dataset(data, args.finetune_images, seed=5, size=args.size)
        pairs = scan_labelled_folder(data)
        try:
            base = resolve_model(DEFAULT_MODEL)
            base_label = DEFAULT_MODEL
        except Exception:  # no bundled model in this checkout yet
            from ukan_core.preprocess import Preprocessing

            torch.manual_seed(0)
            model = build_model("ukan", NAMED_CONFIGS[args.config])
            base = (model, {"name": "fresh", "preprocessing": Preprocessing(
                mode="standard", input_size=(args.size, args.size)).to_dict()})
            base_label = f"fresh {args.config}"
        start = time.perf_counter()
        report = finetune(base, pairs, device="cpu", save=False)
        wall = time.perf_counter() - start
    return {"impl": "finetune", "base": base_label, "wall_s": wall, "steps": report.steps,
            "n_train": report.n_train, "n_val": report.n_val, "stopped": report.stopped,
            "base_iou": report.base_metrics["iou"], "new_iou": report.new_metrics["iou"],
            "peak_rss_mb": _peak_rss_mb()}


def _run_child(impl: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", impl, "--config", args.config, "--batch", str(args.batch),
           "--size", str(args.size), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--threads", str(args.threads), "--finetune-images", str(args.finetune_images)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"{impl} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="ukan")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--finetune-images", type=int, default=10)
    parser.add_argument("--skip-finetune", action="store_true")
    parser.add_argument("--child", choices=("plain", "ours", "finetune"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.impl = args.child
        result = _finetune_child(args) if args.child == "finetune" else _step_child(args)
        print(json.dumps(result))
        return 0

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, threads={args.threads}, "
          f"{args.config} batch {args.batch} at {args.size}², {args.steps} steps after {args.warmup} warm-up")
    plain = _run_child("plain", args)
    ours = _run_child("ours", args)
    print(f"{'path':<8} {'median s/step':>14} {'min s/step':>11} {'images/s':>9} {'CPU s/step (min)':>17} "
          f"{'peak RSS MB':>12}")
    for r in (plain, ours):
        print(f"{r['impl']:<8} {r['median_s']:>14.3f} {r['min_s']:>11.3f} {args.batch / r['median_s']:>9.2f} "
              f"{r['cpu_min_s']:>17.3f} {r['peak_rss_mb']:>12.0f}")
    print(f"ratio ours/plain: time {ours['median_s'] / plain['median_s']:.2f}x median, "
          f"{ours['min_s'] / plain['min_s']:.2f}x best, {ours['cpu_min_s'] / plain['cpu_min_s']:.2f}x CPU time "
          f"(target <= 0.67x); peak RSS {ours['peak_rss_mb'] / plain['peak_rss_mb']:.2f}x (target <= 0.5x)")
    print(f"first losses plain {plain['losses'][0]:.5f} ours {ours['losses'][0]:.5f}")
    if not args.skip_finetune:
        ft = _run_child("finetune", args)
        print(f"fine-tune ({ft['base']}, {args.finetune_images} synthetic images at {args.size}², "
              f"{ft['n_train']} train / {ft['n_val']} held out): {ft['wall_s']:.1f} s wall, {ft['steps']} steps "
              f"({ft['stopped']}), held-out IoU {ft['base_iou']:.3f} -> {ft['new_iou']:.3f}, "
              f"peak RSS {ft['peak_rss_mb']:.0f} MB (target <= 120 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
