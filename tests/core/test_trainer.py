"""The training loop: progress, cancel within one step, NaN guard, budget, determinism, lean KAN layers."""

from __future__ import annotations

import copy
import dataclasses
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ukan_core.errors import Cancelled, TrainingDiverged
from ukan_core.models.configs import UKANConfig
from ukan_core.models.registry import build_model
from ukan_core.models.kan import KANLinear
from ukan_core.progress import CancelToken
from ukan_core.training import run_state
from ukan_core.training import trainer as trainer_module
from ukan_core.training.fast_kan import LeanKANLinear, lean_kan_layers
from ukan_core.training.recipes import FINETUNE, PAPER, Recipe
from ukan_core.training.trainer import cosine_lr, fit, kan_parameter_groups

TINY = UKANConfig(embed_dims=(16, 24, 32))
SIZE = 64


def write_pairs(folder: Path, n: int, *, seed: int = 0, size: int = SIZE, invert: bool = False) -> Path:
    """n image/mask pairs in the official layout: bright ellipses on a noisy background.

    `invert=True` draws dark ellipses on a bright background (a different "scanner").
    """
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks" / "0").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        centre = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        axes = tuple(int(v) for v in rng.integers(size // 8, size // 4, 2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        noise = rng.normal(0, 20, (size, size))
        grey = np.where(mask > 0, 190, 60) + noise
        if invert:
            grey = 255 - grey
        image = np.clip(np.repeat(grey[..., None], 3, axis=2), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / "images" / f"case{i:03d}.png"), image)
        cv2.imwrite(str(folder / "masks" / "0" / f"case{i:03d}.png"), mask)
    return folder


def tiny_recipe(**changes) -> Recipe:
    values = {"batch_size": 4, "input_size": (SIZE, SIZE), "epochs": 2, **changes}
    return dataclasses.replace(PAPER, **values)


def preprocessing():
    from ukan_core.preprocess import Preprocessing

    return Preprocessing(mode="standard", fit="resize", input_size=(SIZE, SIZE))


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest (and steadiest on a shared machine) on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def pairs(tmp_path: Path):
    from ukan_core.data.folders import scan_labelled_folder

    return list(scan_labelled_folder(write_pairs(tmp_path / "data", 10)))


def tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("ukan", TINY)


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fit_reports_progress_validates_and_keeps_the_best(pairs) -> None:
    model = tiny_model()
    events = []
    result = fit(model, pairs[:8], pairs[8:], tiny_recipe(), preprocessing=preprocessing(), device="cpu",
                 progress=events.append)
    assert result.steps == 4 and result.stopped == "completed"  # 8 images, batch 4, 2 epochs
    assert [e.done for e in events] == [1, 2, 3, 4] and events[-1].total == 4
    assert {"epoch", "step", "loss", "val_iou", "val_f1", "eta_s"} <= set(events[-1].extra)
    assert set(result.metrics) == {"val_iou", "val_iou_mean", "val_f1", "val_f1_mean", "val_n"}
    assert result.metrics["val_n"] == 2 and 0.0 <= result.metrics["val_iou"] <= 1.0
    assert [h["step"] for h in result.history] == [2, 4]
    assert same(weights(model), result.state_dict)
    assert all(type(m) is not LeanKANLinear for m in model.modules())
    assert all(p.is_contiguous() for p in model.parameters())


def test_cancel_from_the_progress_callback_stops_within_one_step(pairs) -> None:
    model = tiny_model()
    before = weights(model)
    token = CancelToken()
    seen = []

    def on_progress(p) -> None:
        seen.append(p.done)
        if p.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        fit(model, pairs[:8], pairs[8:], tiny_recipe(epochs=20), preprocessing=preprocessing(),
            device="cpu", progress=on_progress, cancel=token)
    assert seen == [1, 2]
    assert same(weights(model), before)


def test_a_nan_loss_raises_diverged_and_restores_the_weights(pairs, monkeypatch) -> None:
    calls = {"n": 0}
    real = trainer_module.BCEDiceLoss

    class PoisonedLoss(real):
        def forward(self, logits, target):
            calls["n"] += 1
            loss = super().forward(logits, target)
            return loss * float("nan") if calls["n"] >= 2 else loss

    monkeypatch.setattr(trainer_module, "BCEDiceLoss", PoisonedLoss)
    model = tiny_model()
    before = weights(model)
    with pytest.raises(TrainingDiverged) as info:
        fit(model, pairs[:8], pairs[8:], tiny_recipe(epochs=5, val_every_steps=5), preprocessing=preprocessing(),
            device="cpu")
    message = str(info.value)
    assert "\n" not in message and "diverged at step 2" in message and "lower learning rate" in message
    assert same(weights(model), before)


def test_a_huge_learning_rate_is_caught_before_it_ruins_the_model(pairs) -> None:
    model = tiny_model()
    recipe = tiny_recipe(lr=1e12, kan_lr=1e12, epochs=30, val_every_steps=1000)
    try:
        fit(model, pairs[:8], pairs[8:], recipe, preprocessing=preprocessing(), device="cpu")
    except TrainingDiverged:
        pass
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())


def test_budget_stops_cleanly_and_keeps_validated_weights(pairs) -> None:
    model = tiny_model()
    result = fit(model, pairs[:8], pairs[8:], tiny_recipe(epochs=1000), preprocessing=preprocessing(),
                 device="cpu", budget_s=0.01)
    assert result.stopped == "budget" and result.steps == 1
    assert result.metrics["val_n"] == 2  # validated once before returning
    assert same(weights(model), result.state_dict)


def test_a_run_the_budget_cuts_short_still_anneals_its_learning_rate(pairs, monkeypatch) -> None:
    # A clock that moves one second per step: the 10 s budget ends the run long before its 2,500
    # planned steps, and the schedule must follow the budget down to the minimum rate.
    clock = {"now": 100.0}
    fake_time = types.SimpleNamespace(monotonic=lambda: clock["now"])
    monkeypatch.setattr(trainer_module, "time", fake_time)
    monkeypatch.setattr(run_state, "time", fake_time)
    fractions = []
    real = trainer_module.cosine_lr_at

    def spy(base_lr, min_lr, fraction):
        fractions.append(fraction)
        return real(base_lr, min_lr, fraction)

    monkeypatch.setattr(trainer_module, "cosine_lr_at", spy)

    def tick(_progress) -> None:
        clock["now"] += 1.0

    result = fit(tiny_model(), pairs[:8], [], tiny_recipe(epochs=5000), preprocessing=preprocessing(),
                 device="cpu", budget_s=10.0, progress=tick)
    per_step = fractions[::2]   # two parameter groups, one rate each per step
    assert result.stopped == "budget" and result.steps == 10
    assert per_step[0] == 0.0 and per_step == sorted(per_step)
    assert per_step[-1] == pytest.approx(1.0)   # the last step runs at the minimum rate
    assert per_step[4] == pytest.approx(0.5)    # after 4 steps in 4 s: (4 + 1) / 10 of the budget


def test_same_seed_same_weights_on_cpu(pairs) -> None:
    # One starting model, copied: KANLinear's lstsq init itself is not bit-reproducible (official too).
    start = tiny_model()
    runs = []
    for _ in range(2):
        model = copy.deepcopy(start)
        fit(model, pairs[:8], pairs[8:], tiny_recipe(epochs=1), preprocessing=preprocessing(), device="cpu", seed=3)
        runs.append(weights(model))
    assert same(*runs)


def test_without_validation_pairs_the_last_weights_are_kept(pairs) -> None:
    model = tiny_model()
    result = fit(model, pairs[:6], [], tiny_recipe(epochs=1), preprocessing=preprocessing(), device="cpu")
    assert result.metrics == {} and result.steps == 1
    assert same(weights(model), result.state_dict)


def test_parameter_groups_follow_the_official_kan_selection() -> None:
    model = tiny_model()
    groups = kan_parameter_groups(model, PAPER)
    kan_ids = {id(p) for p in groups[1]["params"]}
    for name, p in model.named_parameters():
        assert (id(p) in kan_ids) == ("layer" in name and "fc" in name)
    assert groups[0]["lr"] == 1e-4 and groups[1]["lr"] == 1e-2
    assert groups[0]["weight_decay"] == groups[1]["weight_decay"] == 1e-4
    assert FINETUNE.batch_size <= 4 and FINETUNE.max_steps is not None


def test_cosine_schedule_goes_from_the_base_rate_to_the_minimum() -> None:
    assert cosine_lr(1e-2, 1e-5, 0, 100) == pytest.approx(1e-2)
    assert cosine_lr(1e-2, 1e-5, 50, 100) == pytest.approx((1e-2 + 1e-5) / 2)
    assert cosine_lr(1e-2, 1e-5, 100, 100) == pytest.approx(1e-5)


def test_lean_kan_layers_give_the_same_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    layer = KANLinear(6, 5)
    with torch.no_grad():
        layer.spline_weight.add_(torch.randn_like(layer.spline_weight))
    holder = torch.nn.Sequential(layer)
    x = torch.randn(64, 6) * 1.5
    x[0, 0], x[1, 1], x[2, 2], x[3, 3] = 2.2, -2.2, 0.6, 7.0  # knots and out-of-grid values
    x.requires_grad_(True)
    params = [layer.base_weight, layer.spline_weight, layer.spline_scaler]

    y = holder(x)
    g = torch.randn_like(y)
    expected = torch.autograd.grad(y, [x, *params], g)
    keys = list(holder.state_dict())
    with lean_kan_layers(holder) as swapped:
        assert swapped == 1 and isinstance(holder[0], LeanKANLinear)
        assert list(holder.state_dict()) == keys
        y_lean = holder(x)
        got = torch.autograd.grad(y_lean, [x, *params], g)
    assert holder[0] is layer
    torch.testing.assert_close(y_lean, y, rtol=1e-4, atol=1e-5)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
