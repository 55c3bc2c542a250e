"""Training recipes: the paper's (official `Seg_UKAN/train.py`) and a short one for fine-tuning on corrections.

A recipe is a frozen dataclass, so a caller (or the CLI) overrides a field with
`dataclasses.replace(PAPER, epochs=50)` and the result can be stored in a checkpoint as a dict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """How to train: optimiser, schedule, batch, split, stopping rules.

    Learning rates: parameters whose name contains both "layer" and "fc" (every KANLinear
    weight, as the official `train.py` selects them) use `kan_lr` and `kan_weight_decay`; all others
    use `lr` and `weight_decay`. Both decay by cosine to `min_lr` over the planned steps, or over
    the wall-clock budget when that ends the run first (so a run cut short still anneals).
    The loss is the official 0.5·BCE + Dice. `max_steps` caps the run (None: `epochs` full
    passes). `batch_size` is per process under DDP. Validation runs every `val_every_steps`
    steps (None: once per epoch); `patience` stops after that many validations without a better
    pooled IoU (None: never). The best weights by validation pooled IoU are always kept.
    `budget_s` is a default wall-clock budget (a caller's explicit budget wins).
    `affine` adds small random rotations/scalings/shifts to the augmentation. `max_folds` (fine-tuning
    only) caps the k of the k-fold measurement of fewer than 20 corrections. `train_size`
    (fine-tuning only) trains at up to that many pixels a side, never above the images' own
    size nor below the base model's input size (None: the base model's size); the model then
    records the size it was trained at, and predicts at it.
    """

    name: str = "paper"
    lr: float = 1e-4
    kan_lr: float = 1e-2
    weight_decay: float = 1e-4
    kan_weight_decay: float = 1e-4
    min_lr: float = 1e-5
    epochs: int = 400
    max_steps: int | None = None
    batch_size: int = 8
    input_size: tuple[int, int] = (256, 256)
    val_fraction: float = 0.2
    split_seed: int = 2981
    augment: bool = True
    val_every_steps: int | None = None
    patience: int | None = None
    grad_clip: float | None = None
    budget_s: float | None = None
    amp: bool = True
    fast_kan: bool = True
    channels_last: bool = True
    affine: bool = False
    train_size: int | None = None
    max_folds: int = 5

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists), stored in checkpoint metadata."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Recipe:
        """The recipe stored by `to_dict`; unknown keys are ignored (older/newer versions)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})


PAPER = Recipe()
"""The official recipe: Adam 1e-4 (KAN 1e-2), wd 1e-4, cosine to 1e-5, 0.5 BCE + Dice, batch 8, 256²,
80/20 split with seed 2981, rot90 + flips, 400 epochs, best epoch by validation IoU."""

FINETUNE = Recipe(
    name="finetune",
    lr=1e-3,
    kan_lr=1e-3,
    min_lr=1e-5,
    epochs=200,
    max_steps=300,
    batch_size=4,
    val_every_steps=10,
    patience=4,
    budget_s=60.0,
    train_size=256,
    max_folds=2,
)
"""Few corrected images on top of a trained model: one rate of 1e-3 for all weights (the KAN rate
gentler than the paper's 1e-2, which moves a trained model far in a few steps; the other weights
ten times the paper's 1e-4, which adapts too slowly to a new domain in a minute), batch ≤ 4, at
most 300 steps and 1 minute on 2 CPU cores, the cross-validation that measures it included; that
is 2-fold below 20 corrections (each correction held out once, and a third of the steps left for
the final model rather than a sixth with 5 folds), validation every 10 steps, stop after 4
validations without gain, keep the best; the model kept then trains on all the corrections for
as many passes over them as the folds found best (twice their steps, with half the budget).
Measured with `tests/benchmarks/bench_retrain_quality.py` (10 corrections, 30 unseen images,
60 s): pooled IoU 0.725 with lr 1e-4 and 5 folds, 0.831-0.845 with this rate and 2 folds, and
0.853-0.864 (two runs) once the model kept trains for as many passes as the folds, on average over
three new domains. Trains at up to
256² (the images' own size when smaller, never below the base's): a 128² model fine-tuned at 256²
gives far better outlines on new domains than at 128² (see `tests/benchmarks/bench_retrain_quality.py`)."""

RECIPES: dict[str, Recipe] = {"paper": PAPER, "finetune": FINETUNE}


def recipe_by_name(name: str) -> Recipe:
    """`PAPER` or `FINETUNE` by name; ValueError naming the choices otherwise."""
    try:
        return RECIPES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r} (choose {', '.join(RECIPES)})") from None
