"""Metrics and losses against the official fixtures, plus the pooled-vs-mean story."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ukan_core.metrics import MetricAccumulator, f1, iou, pooled_iou_official
from ukan_core.training.losses import BCEDiceLoss, CEDiceLoss

CASES = ["random", "empty_pred_and_target", "half_overlap"]


@pytest.fixture(scope="module")
def cases(reference_dir: Path) -> dict:
    return torch.load(reference_dir / "seg_loss_metric_cases.pt", weights_only=True)


@pytest.mark.parametrize("name", CASES)
def test_bce_dice_loss_equals_the_official(cases: dict, name: str) -> None:
    case = cases[name]
    loss = BCEDiceLoss()(case["logits"], case["target"])
    assert loss.ndim == 0
    assert float(loss) == pytest.approx(case["bce_dice_loss"], rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("name", CASES)
def test_pooled_iou_equals_the_official_iou_score(cases: dict, name: str) -> None:
    case = cases[name]
    for logits, target in ((case["logits"], case["target"]), (case["logits"].numpy(), case["target"].numpy())):
        score, dice = pooled_iou_official(logits, target)
        assert score == pytest.approx(case["iou"], rel=1e-12)
        assert dice == pytest.approx(case["dice"], rel=1e-12)


def test_iou_and_f1_per_image() -> None:
    pred = np.zeros((4, 4), bool)
    target = np.zeros((4, 4), bool)
    assert iou(pred, target) == 1.0 and f1(pred, target) == 1.0  # empty/empty, as the official
    target[0, :2] = True
    assert iou(pred, target) == 0.0 and f1(pred, target) == 0.0
    pred[0, 1:3] = True  # 1 shared pixel, union 3
    assert iou(pred, target) == pytest.approx(1 / 3)
    assert f1(pred, target) == pytest.approx(0.5)
    assert f1(pred, target) == pytest.approx(2 * iou(pred, target) / (1 + iou(pred, target)))
    assert iou(pred.astype(np.uint8) * 255, target.astype(np.uint8)) == pytest.approx(1 / 3)  # non-zero = fg
    with pytest.raises(ValueError):
        iou(pred, target[:2])


def test_accumulator_reports_pooled_and_mean_separately() -> None:
    acc = MetricAccumulator()
    big_t = np.zeros((10, 10), bool)
    big_t[:, :5] = True  # 50 px
    big_p = big_t.copy()  # perfect on the big object
    small_t = np.zeros((10, 10), bool)
    small_t[0, 0] = True  # 1 px, completely missed
    acc.update(big_p, big_t)
    acc.update(np.zeros((10, 10), bool), small_t)
    acc.update(np.zeros((10, 10), bool), np.zeros((10, 10), bool))  # empty/empty counts as 1.0
    assert acc.n == 3
    assert acc.iou_pooled == pytest.approx(50 / 51)
    assert acc.f1_pooled == pytest.approx(100 / 101)
    assert acc.iou_mean == pytest.approx(2 / 3)
    assert acc.f1_mean == pytest.approx(2 / 3)
    assert set(acc.as_dict()) == {"iou_pooled", "f1_pooled", "iou_mean", "f1_mean", "n"}


def test_accumulator_batch_update_matches_official_pooling(cases: dict) -> None:
    case = cases["random"]
    pred = (torch.sigmoid(case["logits"]) > 0.5).numpy()[:, 0]
    target = (case["target"] > 0.5).numpy()[:, 0]
    acc = MetricAccumulator()
    acc.update(pred, target)
    assert acc.n == 3
    assert acc.iou_pooled == pytest.approx(case["iou"], rel=1e-5)  # same pooling, minus the 1e-5 smoothing
    assert acc.iou_mean == pytest.approx(np.mean([iou(p, t) for p, t in zip(pred, target)]))
    assert np.isnan(MetricAccumulator().iou_mean)  # no images yet


def test_bce_dice_loss_trains() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 8, 8, requires_grad=True)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    BCEDiceLoss()(logits, target).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert float(BCEDiceLoss()(target * 20 - 10, target)) < 0.01


def test_ce_dice_loss_for_label_maps() -> None:
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (2, 8, 8))
    perfect = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float() * 20
    loss = CEDiceLoss()
    assert float(loss(perfect, labels)) < 0.01
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    value = loss(logits, labels[:, None])
    value.backward()
    assert value.item() > 0.3 and torch.isfinite(logits.grad).all()


def test_metrics_and_io_stay_torch_free() -> None:
    code = ("import sys, ukan_core.metrics, ukan_core.preprocess, ukan_core.io.images, ukan_core.io.masks; "
            "sys.exit('torch' in sys.modules)")
    repo = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=repo).returncode == 0


def test_weighted_bce_dice_loss() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 16, 16, generator=g)
    target = (torch.rand(3, 1, 16, 16, generator=g) > 0.6).float()
    loss = BCEDiceLoss()
    assert torch.allclose(loss(logits, target, torch.ones(3)), loss(logits, target), atol=1e-6)
    # weight 0 leaves a sample out; equal weights on the rest give their unweighted loss
    assert torch.allclose(loss(logits, target, torch.tensor([1.0, 0.0, 1.0])), loss(logits[[0, 2]], target[[0, 2]]),
                          atol=1e-6)
    # doubling a sample's weight counts it twice
    doubled = loss(logits[[0, 0, 1]], target[[0, 0, 1]])
    assert torch.allclose(loss(logits[:2], target[:2], torch.tensor([2.0, 1.0])), doubled, atol=1e-6)
