"""The input size a fine-tune trains at: closer to the images' own size than a small base model's.

U-KAN's tokenised stages have no positional embedding, so a model trained at 128² runs at 256²
as it is; fine-tuning it there gives outlines at twice the resolution instead of 128² masks
resized up. The size is capped by the recipe (time per step grows with the pixels) and by the
smallest training image (upsampling adds no detail).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ukan_core.preprocess import MULTIPLE, Preprocessing
from ukan_core.training.recipes import Recipe


def training_preprocessing(base: Preprocessing, recipe: Recipe, pairs: Sequence[Any]) -> Preprocessing:
    """`base` with the input size a fine-tune on `pairs` trains (and the new model predicts) at.

    Only for fit "resize" and a recipe with `train_size`; each side becomes the smallest image's
    side rounded down to a multiple of 32, at most `train_size` and never below the base size.
    """
    if recipe.train_size is None or base.fit != "resize" or not pairs:
        return base
    heights, widths = zip(*(image_size(pair) for pair in pairs))
    cap = int(recipe.train_size)
    size = tuple(max(b, min(cap, (min(sides) // MULTIPLE) * MULTIPLE))
                 for b, sides in zip(base.input_size, (heights, widths)))
    return base if size == base.input_size else dataclasses.replace(base, input_size=size)


def image_size(pair: Any) -> tuple[int, int]:
    """(H, W) of a pair's image (decodes it once more: milliseconds for the few images of a fine-tune)."""
    from ukan_core.data.folders import load_pair

    image, _ = load_pair(pair)
    return int(image.shape[0]), int(image.shape[1])
