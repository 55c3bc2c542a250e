"""How good are a generator's images and labelled pairs? (run by hand)

    python tests/benchmarks/bench_generator_quality.py [--model ukan-synthetic-us-pairs] [--n 256]
        [--sampler dpmpp2m] [--steps 20] [--eta 0] [--seed 0] [--threads 2] [--grid docs/generator-samples.png]

Generates `--n` samples and compares them with independent synthetic ultrasound-like images made
like the training data (`ukan synth`, 128 px, centre-square resized to the generator's size):

- Fréchet distance on features of the bundled segmentation U-KAN's encoder (it ships with the
  app, nothing is downloaded; see ukan_core.diffusion.quality), next to the distance between two
  independent real sets of the same size (the floor, sampling noise only) and a blurred real set
  (how far an obviously wrong set lands).
- For a pairs generator: the IoU between each generated mask and the bundled model's
  segmentation of the generated image, next to the same number on real pairs.
- A PNG grid: generated images with their generated mask outlined (top), real ones (bottom).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generate import grid  # noqa: E402

from ukan_core.data.synthetic import generate_case  # noqa: E402
from ukan_core.diffusion.pipeline import generate, is_pairs_model, load_generator, sampler_for, split_pairs  # noqa: E402
from ukan_core.diffusion.quality import SegmenterFeatures, frechet_distance, mask_agreement  # noqa: E402
from ukan_core.diffusion.train_data import centre_square  # noqa: E402
from ukan_core.inference import Segmenter  # noqa: E402
from ukan_core.overlay import outline_mask  # noqa: E402

TRAINING_DATA_SIZE = 128   # `ukan synth --size 128`, as the bundled generator was trained


def real_pairs(n: int, size: int, first_seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """`n` synthetic images and masks, prepared as the generator's training data."""
    images, masks = [], []
    for i in range(n):
        image, mask = generate_case(np.random.default_rng(first_seed + i), size=TRAINING_DATA_SIZE)
        images.append(centre_square(image, size))
        masks.append(centre_square(mask, size, nearest=True))
    return images, masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ukan-synthetic-us-pairs")
    parser.add_argument("--feature-model", default="ukan-synthetic-us")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--sampler", default="dpmpp2m")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM noise (ddim only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grid", type=Path, default=None, help="save a sample grid PNG here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, info = load_generator(args.model, device="cpu")
    size = int(model.config.image_size)
    pairs = is_pairs_model(model, info)
    sampler = sampler_for(model, args.sampler, eta=args.eta)
    eta = f" eta {args.eta:g}" if args.sampler == "ddim" else ""
    label = f"{args.sampler}{eta}, {args.steps or sampler.default_steps} steps"
    start = time.perf_counter()
    samples = generate(model, sampler, num_images=args.n, num_steps=args.steps, seed=args.seed, batch_size=32)
    seconds = time.perf_counter() - start
    if pairs:
        images, masks = split_pairs(samples)
        images, masks = list(images), list(masks)
    else:
        images, masks = [s[..., 0] if s.shape[-1] == 1 else s for s in samples], []
    print(f"generated {args.n} samples of {size}x{size} with {label} in {seconds:.1f} s "
          f"({args.model}, {'pairs' if pairs else 'images'}); real sets: ukan synth style, seeds 10000+ and 20000+")

    real_a, masks_a = real_pairs(args.n, size, 10_000)
    real_b, _ = real_pairs(args.n, size, 20_000)
    blurred = [cv2.GaussianBlur(image, (0, 0), 2.0) for image in real_b]
    segmenter = Segmenter.from_name_or_path(args.feature_model, device="cpu")
    features = SegmenterFeatures(segmenter)
    fa = features(real_a)
    rows = [("generated vs real", features(images)), ("real vs real (floor)", features(real_b)),
            ("blurred real vs real", features(blurred))]
    print(f"Fréchet distance on {args.feature_model} encoder features ({fa.shape[1]}-d), {args.n} images per set:")
    for name, fx in rows:
        print(f"  {name:24s} {frechet_distance(fx, fa):10.3f}")
    if pairs:
        generated = mask_agreement(segmenter, images, masks)
        real = mask_agreement(segmenter, real_a, masks_a)
        with_lesion = sum(int(m.any()) for m in masks)
        print(f"mask agreement (IoU of the pair's mask with {args.feature_model}'s segmentation of its image):")
        print(f"  generated pairs          pooled {generated.iou:.3f}, mean {generated.iou_mean:.3f} "
              f"({with_lesion}/{args.n} with a lesion)")
        print(f"  real pairs (reference)   pooled {real.iou:.3f}, mean {real.iou_mean:.3f} "
              f"({sum(int(m.any()) for m in masks_a)}/{args.n} with a lesion)")
    if args.grid:
        per_row = 8
        empty = [np.zeros(image.shape[:2], np.uint8) for image in images]
        shown = [outline_mask(i, m, scale=2) for i, m in zip(images, masks or empty)]
        truth = [outline_mask(i, m, scale=2) for i, m in zip(real_a, masks_a)]
        rows = [shown[:per_row], shown[per_row:2 * per_row], truth[:per_row]]
        picture = grid([np.stack(row) for row in rows if row])   # fewer than 9 samples: one generated row
        args.grid.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.grid), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        print(f"grid: {args.grid} (rows 1-2 generated, row 3 real; red: the mask)")


if __name__ == "__main__":
    main()
