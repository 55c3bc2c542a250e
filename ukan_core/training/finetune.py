"""Fine-tune a trained U-KAN on a user's corrected masks, and say honestly whether it helped.

`finetune` never touches the base model: it trains copies, measures base and new model on
corrections held out from training (k-fold, so that every correction is checked when there are
few), and adds the result to the model store as a new version. Whether that version becomes the
selected one is decided here, by `should_select` (a gain beyond the noise, see
`ukan_core.training.report`), for every caller alike (`ukan finetune`, the Studio's Retrain).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ukan_core.errors import DatasetError
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress
from ukan_core.training.recipes import FINETUNE, Recipe
from ukan_core.training.report import GainSummary, choose_threshold, clear_gain, score_pairs, summarise_gains

MIN_PAIRS = 2
KFOLD_BELOW = 20   # fewer corrections than this: k-fold, every one of them held out once
MAX_FOLDS = 5
METRIC_KEYS = ("iou", "iou_mean", "f1", "f1_mean")


@dataclass
class FinetuneReport:
    """Before/after scores on held-out corrections and what was written.

    `base_metrics` and `new_metrics` have iou (pooled over all held-out pixels, as the
    official), iou_mean (per image), f1, f1_mean and n, measured at network resolution.
    With k-fold (`folds` > 1) they are means over the folds. `gains` holds every held-out
    image's IoU before and after and the spread of the gain (`report.GainSummary`);
    `report_lines(report)` says it all in plain words.
    """

    base: str
    base_metrics: dict[str, float]
    new_metrics: dict[str, float]
    n_train: int
    n_val: int
    steps: int
    seconds: float
    folds: int = 1
    stopped: str = "completed"
    version: Any = None
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    selected: bool = False  # the core chose to select the new version (see `should_select`)
    threshold: float = 0.5  # the foreground threshold chosen on the held-out corrections (`choose_threshold`)
    gains: GainSummary | None = None

    @property
    def improved(self) -> bool:
        """True when the new model scores a higher pooled IoU on the held-out corrections."""
        return self.new_metrics.get("iou", 0.0) > self.base_metrics.get("iou", 0.0)


def should_select(report: FinetuneReport) -> bool:
    """The selection rule: a fine-tuned version is selected only for a gain beyond the noise.

    That is `report.clear_gain`: at least 2 held-out images, a mean per-image IoU gain of at
    least 0.01, and the lower bound of the 90 % bootstrap interval of that gain above 0. One
    place for the rule, so the CLI and the Studio can never disagree about it.
    """
    return clear_gain(report.gains)


def resolve_base(base: Any) -> tuple[nn.Module, dict[str, Any], str]:
    """(model, checkpoint info, label) for a model name, a path, a store version or a (model, info) pair."""
    from ukan_core.model_refs import load_model_with_info

    if isinstance(base, tuple) and len(base) == 2 and isinstance(base[0], nn.Module):
        model, info = base
        return model, dict(info), str(info.get("name") or "model")
    path = getattr(base, "path", None)
    model, info = load_model_with_info(path if path is not None else base, device="cpu")
    label = str(base) if isinstance(base, (str, Path)) else str(info.get("name") or Path(path).stem)
    return model, dict(info), label


def fold_plan(n: int, seed: int, val_fraction: float = 0.2,
              max_folds: int = MAX_FOLDS) -> list[tuple[list[int], list[int]]]:
    """(train indices, held-out indices) for each run that measures the fine-tune.

    Fewer than `KFOLD_BELOW` (20) pairs: k-fold with k = min(n, `max_folds`) (leave-one-out for up
    to `max_folds` pairs), every pair held out exactly once, so a few corrections are all used to judge the
    result. More: one split, `val_fraction` held out (at least 4 images).
    """
    order = np.random.default_rng(seed).permutation(n).tolist()
    if n >= KFOLD_BELOW:
        n_val = max(4, int(round(n * val_fraction)))
        return [(sorted(order[n_val:]), sorted(order[:n_val]))]
    k = max(2, min(n, max_folds))
    folds = [order[i::k] for i in range(k)]
    return [(sorted(j for f in folds[:i] + folds[i + 1:] for j in f), sorted(folds[i])) for i in range(k)]


def finetune(
    base: Any,
    pairs: Sequence[Any],
    *,
    recipe: Recipe = FINETUNE,
    store: Any = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    budget_s: float | None = None,
    device: str = "auto",
    seed: int = 0,
    out: Path | None = None,
    save: bool = True,
    select: bool | None = None,
    weights: Sequence[float] | None = None,
) -> FinetuneReport:
    """Train a copy of `base` on corrected `pairs`; the base itself is never modified.

    With fewer than 20 pairs the measurement is k-fold, k = min(pairs, `recipe.max_folds`) (2 for
    FINETUNE): each fold trains a copy on the other pairs and scores base and copy on its
    held-out pairs, so every correction is checked once by a model that did not learn from it;
    the model kept is then trained on all pairs for as many passes over them as the folds' best
    steps made over theirs (so for more steps: twice as many with 2 folds), with a share of the
    budget as much larger. Its held-out scores are thus those of shorter runs on fewer pairs: if
    anything they understate the model kept.
    With 20 or more, 20 % are held out once: the copy trains on the rest, stops early on the
    held-out ones and keeps its best step. The report has the per-image IoUs before and after
    (`gains`) and, with k-fold, the means over folds.
    Every run adds the new model to `store` (default: the user's store) as a version of `name`
    (default: the base's name) with its parent, data fingerprint, recipe, scores and time;
    `out` also writes it to that file. `select` (default: `should_select`, i.e. only for a
    gain beyond the noise) says whether the new version becomes the selected one; otherwise the version
    selected before stays selected. `save=False` writes nothing. Cancelled or failed: nothing
    written. The wall-clock budget (default: the recipe's, 1 minute for FINETUNE) is shared by
    all the runs, the cross-validation included, and the progress ETA counts the runs still to
    come within it.
    `weights` (one per pair, default all 1) weighs each pair in the training loss, e.g. 1 for a
    mask the user corrected and less for a prediction the user only accepted. The new model is
    trained, and records its input size, at `training_preprocessing` (the recipe's `train_size`).
    It also records the foreground threshold that gave the best pooled IoU on the held-out
    corrections (`report.choose_threshold`: 0.5 unless another beats it by 0.01), which the
    Segmenter then uses by default.
    """
    from ukan_core.store import check_model_name, valid_model_name

    from ukan_core.preprocess import Preprocessing
    from ukan_core.training.publish import publish, training_metadata
    from ukan_core.training.resolution import training_preprocessing
    from ukan_core.training.trainer import fit

    progress = progress or no_progress
    cancel = cancel or NEVER
    pairs = list(pairs)
    if weights is not None and len(weights) != len(pairs):
        raise ValueError(f"fine-tune: {len(weights)} weights for {len(pairs)} pairs; give one weight per pair")
    if len(pairs) < MIN_PAIRS:
        raise DatasetError(
            f"fine-tune: need at least {MIN_PAIRS} corrected images (one to learn from, one to check), got {len(pairs)}"
        )
    if name is not None:
        check_model_name(name)  # before any work, not after minutes of training
    started = time.monotonic()
    budget_s = budget_s if budget_s is not None else recipe.budget_s
    base_model, info, label = resolve_base(base)
    target_name = name or valid_model_name(str(info.get("name") or Path(label).stem))
    base_preprocessing = Preprocessing.from_dict(info.get("preprocessing"))
    preprocessing = training_preprocessing(base_preprocessing, recipe, pairs)
    recipe = dataclasses.replace(recipe, batch_size=min(recipe.batch_size, 4))
    plan = fold_plan(len(pairs), seed, recipe.val_fraction, recipe.max_folds)
    runs = len(plan) + (1 if len(plan) > 1 else 0)
    # The kept model trains on all pairs for as many passes over them as the folds found best, so
    # for len(pairs) / (pairs of a fold) times their steps; its share of the budget is as much larger.
    final_cost = len(pairs) / len(plan[0][0]) if len(plan) > 1 else 0.0
    base_scores, new_scores, best_steps, steps = [], [], [], 0
    before: list[float] = []
    after: list[float] = []
    result = model = None
    for i, (train_idx, val_idx) in enumerate(plan):
        train_pairs = [pairs[j] for j in train_idx]
        val_pairs = [pairs[j] for j in val_idx]
        base_scores.append(_score(base_model, val_pairs, base_preprocessing, device))
        model = copy.deepcopy(base_model)
        result = fit(
            model, train_pairs, val_pairs, recipe, preprocessing=preprocessing, device=device,
            progress=_run_progress(progress, i, runs, f"fold {i + 1}/{len(plan)}" if len(plan) > 1 else "fine-tune",
                                   started, budget_s, later=len(plan) - i - 1 + final_cost),
            cancel=cancel, budget_s=_share(budget_s, started, 1.0, (len(plan) - i) + final_cost), seed=seed + i,
            train_weights=_pick(weights, train_idx),
        )
        steps += result.steps
        best_steps.append(result.best_step * len(pairs) / len(train_idx))   # as passes over all the pairs
        new_scores.append(score_pairs(model, val_pairs, preprocessing, device))
        before.extend(_per_image(base_scores[-1], len(val_pairs)))
        after.extend(new_scores[-1]["per_image_iou"])
    if len(plan) > 1:
        final_steps = max(1, int(round(float(np.mean(best_steps)))))
        final_recipe = dataclasses.replace(recipe, max_steps=final_steps, patience=None)
        model = copy.deepcopy(base_model)
        result = fit(
            model, pairs, [], final_recipe, preprocessing=preprocessing, device=device,
            progress=_run_progress(progress, runs - 1, runs, "all pairs", started, budget_s),
            cancel=cancel, budget_s=_share(budget_s, started, 1.0, 1.0), seed=seed + len(plan),
            train_weights=None if weights is None else list(weights),
        )
        steps += result.steps
    base_metrics, new_metrics = _mean(base_scores), _mean(new_scores)
    threshold, pooled_by_threshold = choose_threshold(new_scores)
    n_val = sum(len(v) for _, v in plan) // len(plan)
    report = FinetuneReport(
        base=label, base_metrics=base_metrics, new_metrics=new_metrics,
        n_train=len(pairs) if len(plan) > 1 else len(plan[0][0]), n_val=n_val, steps=steps,
        seconds=time.monotonic() - started, folds=len(plan), stopped=result.stopped,
        gains=summarise_gains(before, after, seed=seed), threshold=threshold,
    )
    cancel.raise_if_cancelled()
    parent = _parent(info, label)
    report.metadata = training_metadata(
        model, result, recipe=recipe, preprocessing=preprocessing, pairs=pairs, n_train=report.n_train,
        n_val=n_val, data=None, seed=seed, name=target_name, parent=parent,
        base_info=info, extra_training={"kind": "finetune", "folds": len(plan), "total_steps": steps,
                                        "seconds": round(report.seconds, 1)},
        metrics={"held_out": new_metrics, "base_held_out": base_metrics, "folds": len(plan),
                 "per_image": report.gains.to_dict(),
                 "held_out_iou_by_threshold": {str(t): round(v, 4) for t, v in pooled_by_threshold.items()}},
    )
    report.metadata["threshold"] = threshold
    if save:
        choose = should_select(report) if select is None else bool(select)
        report.path, report.version = publish(model, report.metadata, out=out, name=target_name, store=store,
                                              select=choose)
        report.selected = choose
    return report


def _score(model: nn.Module, pairs: Sequence[Any], preprocessing: Any, device: str) -> dict[str, Any]:
    """Scores of the base `model` on held-out `pairs` at network resolution (as the validation inside `fit`)."""
    return score_pairs(model, pairs, preprocessing, device)


def _per_image(scores: dict[str, Any], n: int) -> list[float]:
    """The per-image IoUs of a score dict (its pooled IoU for each image when it has none)."""
    values = scores.get("per_image_iou")
    return [float(v) for v in values] if values is not None else [float(scores["iou"])] * n


def _pick(weights: Sequence[float] | None, indices: Sequence[int]) -> list[float] | None:
    return None if weights is None else [float(weights[j]) for j in indices]


def _mean(scores: list[dict[str, float]]) -> dict[str, float]:
    out = {k: float(np.mean([s[k] for s in scores])) for k in METRIC_KEYS}
    out["n"] = int(sum(s["n"] for s in scores))
    return out


def _share(budget_s: float | None, started: float, cost: float, costs_left: float) -> float | None:
    """The part of what is left of the budget for a run of `cost` among runs costing `costs_left` in all."""
    if budget_s is None:
        return None
    return max(1.0, (budget_s - (time.monotonic() - started)) * cost / max(cost, costs_left))


def _run_progress(progress: ProgressCallback, index: int, runs: int, label: str, started: float,
                  budget_s: float | None, later: float | None = None) -> ProgressCallback:
    """Progress of run `index` of `runs` as progress of the whole fine-tune.

    `eta_s` is for the whole fine-tune: what is left of this run plus `later` times as long as
    this run for the runs still to come (default: one run's time for each), never beyond what is
    left of the budget (training stops there).
    """
    later = float(runs - index - 1) if later is None else later
    run_started = time.monotonic()

    def report(p: Progress) -> None:
        total = max(1, p.total)
        done = index * total + p.done
        extra = {**p.extra, "run": index + 1, "runs": runs}
        eta = p.extra.get("eta_s")
        if eta is not None:
            now = time.monotonic()
            eta = eta + later * (now - run_started + eta)
            if budget_s is not None:
                eta = min(eta, max(0.0, budget_s - (now - started)))
            extra["eta_s"] = eta
        progress(Progress(done=done, total=runs * total, message=f"{label}: {p.message}", extra=extra))

    return report


def _parent(info: dict[str, Any], label: str) -> str:
    name, version = info.get("name"), info.get("version")
    if name and version is not None:
        return f"{name}/{version}"
    return str(name or Path(label).name)
