"""Benchmark: what 10 corrections on a new domain give after Retrain (run by hand; minutes).

    python tests/benchmarks/bench_retrain_quality.py [--domains alt,inverted,alt-remap]
        [--variants before,base,default] [--evals plain,tta,post,tta-post]
        [--accepted] [--train 10] [--test 30] [--budget-s 60] [--steps N] [--threads 2] [--json out.json]

For each domain the bundled model never saw (synthetic style `alt`; style `inverted`; and
`alt-remap`, the `alt` images through a grey-level remap) it writes `--train` labelled images
(the corrections) and `--test` unseen ones, fine-tunes the bundled model with
`ukan_core.training.finetune.finetune` (what Retrain runs; nothing saved) under each training
variant, then scores the new model on the unseen images at their own size, as the user sees
the masks: pooled IoU (all pixels together) and mean per-image IoU, under each evaluation
option (plain; flip TTA; post-processing; both), at the model's own threshold (the one the
fine-tune chose on its held-out corrections; 0.5 for the bundled model); `NAME@0.4` thresholds
the probabilities at 0.4 instead. "before" scores the bundled model itself.
Training variants:
  base        the FINETUNE recipe at the base model's input size (128²), rot90/flip augmentation
  256         fine-tune and predict at 256² (`Recipe.train_size`)
  256-affine  as 256, plus small random affine augmentation (`Recipe.affine`)
  default     the FINETUNE recipe as shipped (whatever it is now)
`--accepted`: 5 corrections alone vs 5 corrections + 5 accepted predictions (the masks the
5-correction model predicted on 5 more images) weighted `--accepted-weight`, default recipe.
Wall time is the whole `finetune` call (its held-out evaluation included); `cpu_s` is its
process CPU time, which divided by the threads estimates the wall time on an idle machine.
Goal: pooled IoU ≥ 0.92 on each domain within 60 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BASE_MODEL = ROOT / "resources" / "models" / "ukan-synthetic-us.safetensors"
DOMAIN_STYLE = {"alt": "alt", "inverted": "inverted", "alt-remap": "alt"}
EVALS = {"plain": (False, False), "tta": (True, False), "post": (False, True), "tta-post": (True, True)}


def remap_grey(image: np.ndarray) -> np.ndarray:
    """A non-linear grey-level remap (another scanner's look-up table): gamma 0.5 into [40, 220]."""
    x = image.astype(np.float32) / 255.0
    return (40.0 + 180.0 * np.sqrt(x) + 0.5).astype(np.uint8)


def write_domain(root: Path, domain: str, n: int, seed: int) -> list:
    """`n` labelled cases of `domain` under root/domain; the Pairs in order."""
    from ukan_core.data.folders import Pair
    from ukan_core.data.synthetic import generate_case
    from ukan_core.io.masks import write_mask

    pairs = []
    for i in range(n):
        image, mask = generate_case(np.random.default_rng([seed, i]), 256, DOMAIN_STYLE[domain])
        if domain.endswith("-remap"):
            image = remap_grey(image)
        name = f"case_{i:04d}.png"
        image_path = write_mask(root / domain / "images" / name, image)
        mask_path = write_mask(root / domain / "masks" / name, mask * 255)
        pairs.append(Pair(image=image_path, masks=(mask_path,), id=name))
    return pairs


def score(model, info: dict, pairs: list, *, tta: bool, post: bool, threshold: float | None = None) -> dict:
    """Pooled and mean IoU of `model` on `pairs` at the images' own size (mask: p > `threshold`;
    None: the model's own, which a fine-tune chooses on its held-out corrections), and seconds per image."""
    from ukan_core.data.folders import load_pair
    from ukan_core.inference import Segmenter
    from ukan_core.metrics import MetricAccumulator
    from ukan_core.postprocess import DEFAULT

    segmenter = Segmenter(model, info, device="cpu", tta=tta, postprocess=DEFAULT if post else None)
    loaded = [load_pair(p) for p in pairs]
    start = time.perf_counter()
    masks = segmenter.predict_mask_batch([image for image, _ in loaded], threshold)
    seconds = (time.perf_counter() - start) / max(1, len(pairs))
    acc = MetricAccumulator()
    for mask, (_, label) in zip(masks, loaded):
        acc.update(mask > 0, label > 0)
    return {"iou": round(acc.iou_pooled, 4), "iou_mean": round(acc.iou_mean, 4), "s_per_image": round(seconds, 3)}


def recipe_for(variant: str):
    """The recipe of a variant: "default", or "base" / "256" / "256-affine", optionally followed by
    +key=value changes: steps (max_steps), lr, kanlr, pat (patience; 0 = none), val (val_every_steps),
    affine (0/1), size (train_size; 0 = the base's), batch, folds (max_folds)."""
    from ukan_core.training.recipes import FINETUNE

    head, *changes = variant.split("+")
    plain = dataclasses.replace(FINETUNE, train_size=None, affine=False)
    recipe = {"default": FINETUNE, "base": plain, "256": dataclasses.replace(plain, train_size=256),
              "256-affine": dataclasses.replace(plain, train_size=256, affine=True)}[head]
    fields = {"steps": ("max_steps", int), "lr": ("lr", float), "kanlr": ("kan_lr", float),
              "pat": ("patience", int), "val": ("val_every_steps", int), "affine": ("affine", int),
              "size": ("train_size", int), "batch": ("batch_size", int), "folds": ("max_folds", int)}
    for change in changes:
        key, value = change.split("=")
        field, kind = fields[key]
        value = kind(value)
        if field in ("patience", "train_size") and value == 0:
            value = None
        recipe = dataclasses.replace(recipe, **{field: bool(value) if field == "affine" else value})
    return recipe


def run_finetune(pairs: list, recipe, budget_s: float, weights=None):
    """(report, seconds of the finetune call, model, info): the new model read back from its file,
    as the app loads it (written to a throw-away store next to the images)."""
    from ukan_core.model_refs import load_model_with_info
    from ukan_core.store import ModelStore
    from ukan_core.training.finetune import finetune

    work = Path(pairs[0].image).parents[2]
    start, cpu = time.perf_counter(), time.process_time()
    report = finetune(str(BASE_MODEL), pairs, recipe=recipe, budget_s=budget_s, device="cpu", weights=weights,
                      store=ModelStore(work / "store"), select=False)
    seconds = time.perf_counter() - start
    report.cpu_s = time.process_time() - cpu  # on a shared machine: CPU seconds / threads ~ wall time when idle
    model, info = load_model_with_info(report.version.path)
    return report, seconds, model, info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", default="alt,inverted,alt-remap")
    parser.add_argument("--variants", default="before,base,default")
    parser.add_argument("--evals", default="plain,tta,post,tta-post")
    parser.add_argument("--accepted", action="store_true", help="also run 5 corrections vs 5 + 5 accepted")
    parser.add_argument("--accepted-weight", type=float, default=0.5)
    parser.add_argument("--train", type=int, default=10)
    parser.add_argument("--test", type=int, default=30)
    parser.add_argument("--budget-s", type=float, default=60.0, help="fine-tune budget (Retrain's default: 1 min)")
    parser.add_argument("--steps", type=int, help="train every variant exactly this many steps (no early stop, no "
                        "time budget), so the machine's load cannot change the results")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    import torch

    from ukan_core.model_refs import load_model_with_info

    torch.set_num_threads(args.threads)
    evals = args.evals.split(",")
    results = []
    print(f"load average {os.getloadavg()[0]:.2f}, {args.threads} threads, budget {args.budget_s:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for domain in args.domains.split(","):
            pairs = write_domain(Path(tmp), domain, args.train + args.test, args.seed)
            train, test = pairs[:args.train], pairs[args.train:]
            for variant in args.variants.split(","):
                if variant == "before":
                    model, info = load_model_with_info(BASE_MODEL)
                    row = {"domain": domain, "variant": "before", "seconds": 0.0}
                else:
                    recipe, budget_s = recipe_for(variant), args.budget_s
                    if args.steps:
                        recipe, budget_s = dataclasses.replace(recipe, max_steps=args.steps, patience=None), 1e9
                    report, seconds, model, info = run_finetune(train, recipe, budget_s)
                    row = {"domain": domain, "variant": variant, "seconds": round(seconds, 1),
                           "cpu_s": round(report.cpu_s, 1), "steps": report.steps, "stopped": report.stopped,
                           "size": info["preprocessing"]["input_size"][0]}
                for name in evals:
                    option, _, threshold = name.partition("@")  # e.g. "plain@0.4": another threshold
                    tta, post = EVALS[option]
                    row[name] = score(model, info, test, tta=tta, post=post, threshold=float(threshold) if threshold else None)
                results.append(row)
                print(json.dumps(row), flush=True)
            if args.accepted:
                results.extend(accepted_rows(domain, train, test, args))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def accepted_rows(domain: str, train: list, test: list, args: argparse.Namespace) -> list[dict]:
    """5 corrections vs 5 corrections + 5 accepted predictions of the 5-correction model."""
    from ukan_core.data.folders import Pair, load_pair
    from ukan_core.inference import Segmenter
    from ukan_core.io.masks import write_mask
    from ukan_core.training.recipes import FINETUNE

    rows = []
    corrected, unlabelled = train[:5], train[5:10]
    report, seconds, model, info = run_finetune(corrected, FINETUNE, args.budget_s)
    row = {"domain": domain, "variant": "5 corrected", "seconds": round(seconds, 1),
           "cpu_s": round(report.cpu_s, 1), "steps": report.steps}
    row["plain"] = score(model, info, test, tta=False, post=False)
    rows.append(row)
    print(json.dumps(row), flush=True)
    segmenter = Segmenter(model, info, device="cpu")
    accepted = []
    for pair in unlabelled:
        image, _ = load_pair(pair)
        path = write_mask(pair.image.parent.parent / "accepted" / pair.image.name, segmenter.predict_mask(image) * 255)
        accepted.append(Pair(image=pair.image, masks=(path,), id=pair.id))
    weights = [1.0] * len(corrected) + [args.accepted_weight] * len(accepted)
    report, seconds, model, info = run_finetune(corrected + accepted, FINETUNE, args.budget_s, weights=weights)
    row = {"domain": domain, "variant": f"5 corrected + 5 accepted (w {args.accepted_weight})",
           "seconds": round(seconds, 1), "cpu_s": round(report.cpu_s, 1), "steps": report.steps}
    row["plain"] = score(model, info, test, tta=False, post=False)
    rows.append(row)
    print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
