"""The bookkeeping of one training run: validations, the best weights, the schedule's progress, stopping.

`fit` (`ukan_core.training.trainer`) drives the loop; a `TrainingRun` remembers what happened in it
and decides, step by step, how far through the run it is and whether it should stop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ukan_core.errors import TrainingDiverged
from ukan_core.training import distributed as ddp
from ukan_core.training.evaluate import validation_metrics
from ukan_core.training.recipes import Recipe


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached, contiguous CPU copy of the model's state dict."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


@dataclass
class TrainingRun:
    """Mutable bookkeeping of one `fit` call: steps, losses, validations, the best weights, when to stop."""

    total: int
    started: float
    step: int = 0
    losses: list[float] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_iou: float = -1.0
    best_step: int = 0
    last_validated: int = 0
    bad_validations: int = 0
    stopped: str = ""
    restore: dict[str, torch.Tensor] | None = None

    def eta_s(self, budget_s: float | None = None) -> float:
        """Seconds left at the pace so far; never more than what is left of `budget_s` (it stops there)."""
        elapsed = time.monotonic() - self.started
        eta = elapsed / max(1, self.step) * max(0, self.total - self.step)
        return eta if budget_s is None else min(eta, max(0.0, budget_s - elapsed))

    def schedule_fraction(self, budget_s: float | None, ctx: ddp.DistributedContext | None) -> float:
        """How far through its run the coming step is, for the learning-rate schedule.

        The planned steps, or the wall-clock budget when that will end the run first (as
        `check_stop` foresees it: the time so far plus one more step of the same pace), so
        that a run the budget cuts short still anneals to `min_lr` instead of stopping at a
        high rate. Under DDP only the steps count: every rank must use the same rate.
        """
        fraction = self.step / max(1, self.total)
        if budget_s and ctx is None and self.step > 0:
            elapsed = time.monotonic() - self.started
            fraction = max(fraction, (elapsed + elapsed / self.step) / budget_s)
        return min(fraction, 1.0)

    def diverged(self, model: nn.Module, initial: dict[str, torch.Tensor], loss: float) -> None:
        self.restore = self.best_state or initial
        kept = "best weights so far" if self.best_state else "weights from before training"
        raise TrainingDiverged(
            f"training diverged at step {self.step + 1} (loss {loss}); kept the {kept} - try a lower learning rate"
        )

    def validate(self, model: nn.Module, loader: DataLoader | None, dev: torch.device, amp: Any,
                 epoch: int, ctx: ddp.DistributedContext | None, recipe: Recipe) -> None:
        self.last_validated = self.step
        ddp.sync_buffers(model, ctx)  # every rank snapshots the same BatchNorm statistics
        recent = self.losses[-20:]
        entry: dict[str, Any] = {"step": self.step, "epoch": epoch + 1,
                                 "loss": float(np.mean(recent)) if recent else float("nan"),
                                 "seconds": time.monotonic() - self.started}
        values = [-1.0, 0.0, 0.0, 0.0, 0.0]
        if loader is not None:
            with amp():
                m = validation_metrics(model, loader, dev)
            values = [m["iou"], m["iou_mean"], m["f1"], m["f1_mean"], float(m["n"])]
        values = ddp.broadcast_floats(values, ctx)
        if values[0] < 0:  # no validation set: keep the last weights
            self.history.append(entry)
            return
        metrics = {"val_iou": values[0], "val_iou_mean": values[1], "val_f1": values[2],
                   "val_f1_mean": values[3], "val_n": int(values[4])}
        entry.update(metrics)
        self.history.append(entry)
        if values[0] > self.best_iou:
            self.best_iou, self.best_step, self.bad_validations = values[0], self.step, 0
            self.best_metrics = metrics
            self.best_state = snapshot(model)
        else:
            self.bad_validations += 1
            if recipe.patience is not None and self.bad_validations >= recipe.patience:
                self.stopped = "early_stop"

    def check_stop(self, budget_s: float | None, recipe: Recipe, ctx: ddp.DistributedContext | None) -> None:
        over = 0.0
        if budget_s is not None:
            elapsed = time.monotonic() - self.started
            over = float(elapsed + elapsed / max(1, self.step) > budget_s)
        (over,) = ddp.broadcast_floats([over], ctx)
        if over and not self.stopped:
            self.stopped = "budget"
        elif not self.stopped and recipe.max_steps is not None and self.step >= recipe.max_steps:
            self.stopped = "max_steps"
