"""Does the uncertainty score point at the images worth correcting? Run by hand:

    python tests/benchmarks/bench_uncertainty.py [--n 40] [--steps 60] [--seeds 3] [--device cpu]

On a shifted synthetic domain (`ukan synth --style alt`) with the bundled model as the base:

1. Fine-tune on 10 of the images, then on the remaining ones measure each image's error
   (1 − IoU at network resolution) and each candidate uncertainty score, and print the
   Spearman correlation between them per score (goal: ≥ 0.5 for the chosen default).
2. Active choice: from a pool of images, correct the 5 the base model is least sure of, or 5
   at random (3 seeds); fine-tune once on them (the same recipe and steps) and print the mean
   IoU on the images outside the pool.

Fine-tunes here use a fixed number of steps and no held-out checks, so that both arms get the
same training; the numbers are for comparing scores, not for the retrain report.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties), without scipy."""
    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="mergesort")
        r = np.empty(len(values))
        r[order] = np.arange(len(values), dtype=float)
        v = np.asarray(values)
        for value in np.unique(v):   # ties share their mean rank
            r[v == value] = r[v == value].mean()
        return r

    a, b = ranks(x), ranks(y)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="alt-style images in all (default 40)")
    parser.add_argument("--pool", type=int, default=15, help="images to choose 5 corrections from (default 15)")
    parser.add_argument("--steps", type=int, default=60, help="steps of each fine-tune (default 60)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the random choice (default 3)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.data.synthetic import write_synthetic_dataset
    from ukan_core.inference import Segmenter
    from ukan_core.model_refs import DEFAULT_MODEL, load_model_with_info
    from ukan_core.io.images import read_image
    from ukan_core.preprocess import Preprocessing
    from ukan_core.training.recipes import FINETUNE
    from ukan_core.training.report import score_pairs
    from ukan_core.training.trainer import fit
    from ukan_core.uncertainty import SCORES, image_uncertainty

    torch.set_num_threads(args.threads)
    started = time.monotonic()
    base, info = load_model_with_info(DEFAULT_MODEL, device="cpu")
    pre = Preprocessing.from_dict(info["preprocessing"])
    recipe = dataclasses.replace(FINETUNE, max_steps=args.steps, patience=None, batch_size=4, budget_s=None)

    def tuned(pairs: list, seed: int) -> torch.nn.Module:
        model = copy.deepcopy(base)
        fit(model, pairs, [], recipe, preprocessing=pre, device=args.device, seed=seed)
        return model.to("cpu")

    def uncertainties(model: torch.nn.Module, pairs: list) -> dict[str, list[float]]:
        segmenter = Segmenter(model, info, device=args.device)
        results = [image_uncertainty(segmenter, read_image(p.image)) for p in pairs]
        scores = {name: [float(getattr(r, name)) for r in results] for name in SCORES}
        scores["mean of both"] = [(a + b) / 2 for a, b in zip(scores["entropy"], scores["flip"])]
        return scores

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "alt"
        write_synthetic_dataset(data, args.n, seed=4242, style="alt")
        pairs = list(scan_labelled_folder(data))
        print(f"{len(pairs)} alt-style images; bundled base; {args.steps} steps per fine-tune on {args.device}")

        # 1. correlation between uncertainty and error after a fine-tune on 10 images
        train, rest = pairs[:10], pairs[10:]
        for label, model in (("base", base), ("after fine-tune on 10", tuned(train, seed=0))):
            errors = [1.0 - v for v in score_pairs(model, rest, pre, args.device)["per_image_iou"]]
            print(f"{label}: mean IoU on the other {len(rest)} images {1 - float(np.mean(errors)):.3f}")
            for name, values in uncertainties(model, rest).items():
                print(f"  Spearman(uncertainty '{name}', 1 - IoU) = {spearman(values, errors):+.3f}")

        # 2. correct the 5 most uncertain vs 5 random images of a pool
        pool, test = pairs[:args.pool], pairs[args.pool:]
        base_flip = uncertainties(base, pool)
        from ukan_core.uncertainty import DEFAULT_SCORE

        chosen = [pool[i] for i in np.argsort(base_flip[DEFAULT_SCORE])[::-1][:5]]
        arms: dict[str, list[float]] = {"5 most uncertain": [], "5 random": []}
        for seed in range(args.seeds):
            picks = np.random.default_rng(100 + seed).choice(len(pool), 5, replace=False)
            for arm, chosen_pairs in (("5 most uncertain", chosen), ("5 random", [pool[i] for i in picks])):
                model = tuned(chosen_pairs, seed=seed)
                arms[arm].append(score_pairs(model, test, pre, args.device)["iou_mean"])
        base_iou = score_pairs(base, test, pre, args.device)["iou_mean"]
        print(f"active choice ({DEFAULT_SCORE} score, pool {len(pool)}, {len(test)} test images, base IoU {base_iou:.3f}):")
        for arm, values in arms.items():
            print(f"  {arm}: mean IoU {np.mean(values):.3f} (seeds: {', '.join(f'{v:.3f}' for v in values)})")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
