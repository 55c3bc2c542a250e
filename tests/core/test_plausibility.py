"""Plausibility IoU on constructed maps and masks: exact values, edge cases, rankings."""

from __future__ import annotations

import numpy as np
import pytest

from ukan_core.explain.plausibility import (
    THRESHOLDS,
    best_iou,
    channel_ious,
    choose_reference,
    mean_scores,
    normalise_map,
    plausibility_iou,
    score_layer,
    scores_from_ious,
    threshold_ladder,
)

# A 2x3 map whose normalised values are 0, 0.2, 0.4, 0.6, 0.8, 1.0 exactly.
RAMP = np.array([[10.0, 12.0, 14.0], [16.0, 18.0, 20.0]])


def test_normalise_map_spans_zero_to_one():
    norm = normalise_map(RAMP)
    assert norm.dtype == np.float32
    assert norm.min() == 0.0 and norm.max() == 1.0
    np.testing.assert_allclose(norm.ravel(), [0, 0.2, 0.4, 0.6, 0.8, 1.0], atol=1e-7)


@pytest.mark.parametrize("value", [0.0, 7.5, -3.0])
def test_constant_map_normalises_to_zeros_never_nan(value):
    norm = normalise_map(np.full((4, 5), value))
    assert not np.isnan(norm).any()
    assert (norm == 0).all()


def test_nan_and_inf_pixels_are_ignored_and_zeroed():
    m = np.array([[np.nan, 1.0], [3.0, np.inf]])
    norm = normalise_map(m)
    assert not np.isnan(norm).any()
    np.testing.assert_array_equal(norm, [[0.0, 0.0], [1.0, 0.0]])
    assert (normalise_map(np.full((2, 2), np.nan)) == 0).all()


def test_piou_exact_value():
    # threshold 0.5 activates the bottom row (0.6, 0.8, 1.0)
    mask = np.array([[0, 0, 1], [1, 1, 0]], np.uint8)
    # active = {(1,0),(1,1),(1,2)}, mask = {(0,2),(1,0),(1,1)} -> inter 2, union 4
    assert plausibility_iou(RAMP, mask, 0.5) == pytest.approx(0.5)
    assert plausibility_iou(RAMP, mask * 255, 0.5) == pytest.approx(0.5)  # any non-zero is foreground


def test_empty_map_and_empty_mask_score_one():
    """Defined like the official iou_score: nothing activated and nothing to find is a perfect match."""
    assert plausibility_iou(np.zeros((3, 3)), np.zeros((3, 3)), 0.5) == 1.0
    assert plausibility_iou(np.full((3, 3), 4.2), np.zeros((3, 3), bool), 0.05) == 1.0


def test_empty_map_against_non_empty_mask_scores_zero():
    mask = np.zeros((3, 3), np.uint8)
    mask[1, 1] = 1
    assert plausibility_iou(np.ones((3, 3)), mask) == 0.0  # constant map: nothing active


def test_active_map_against_empty_mask_scores_zero():
    assert plausibility_iou(RAMP, np.zeros((2, 3))) == 0.0


def test_threshold_boundary_counts_as_active():
    # normalised [0, 0.5, 1]: at 0.5 the middle pixel is active (>=), just above it is not
    m = np.array([[0.0, 1.0, 2.0]])
    middle_and_right = np.array([[0, 1, 1]])
    assert plausibility_iou(m, middle_and_right, 0.5) == 1.0
    assert plausibility_iou(m, middle_and_right, 0.5001) == pytest.approx(0.5)
    assert plausibility_iou(m, np.array([[0, 0, 1]]), 1.0) == 1.0  # only the maximum reaches 1.0


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.01])
def test_threshold_outside_zero_one_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold"):
        plausibility_iou(RAMP, np.ones((2, 3)), threshold)


def test_mask_size_must_match():
    with pytest.raises(ValueError, match="does not match"):
        plausibility_iou(RAMP, np.ones((3, 2)))


def test_best_iou_finds_the_threshold_and_prefers_the_lowest_on_ties():
    mask = np.array([[0, 0, 0], [0, 1, 1]])  # the pixels at 0.8 and 1.0
    score, threshold = best_iou(RAMP, mask)
    assert score == 1.0
    assert threshold == pytest.approx(0.65)  # 0.65 .. 0.80 all give 1.0; the first one is reported
    assert plausibility_iou(RAMP, mask, threshold) == 1.0


def test_histogram_ious_equal_direct_piou_at_every_threshold():
    rng = np.random.default_rng(3)
    maps = rng.normal(size=(5, 17, 13)).astype(np.float32)
    maps[2] = 1.0                      # constant channel
    maps[3, 4:9, 2:7] += 3.0           # a channel that outlines the mask
    mask = np.zeros((17, 13), np.uint8)
    mask[4:9, 2:7] = 1
    ladder = threshold_ladder(0.37)
    ious = channel_ious(maps, mask, ladder)
    for c in range(len(maps)):
        for j, t in enumerate(ladder):
            assert ious[c, j] == pytest.approx(plausibility_iou(maps[c], mask, float(t)), abs=1e-12)


def test_score_layer_ranks_channels_and_records_reference():
    mask = np.zeros((8, 8), np.uint8)
    mask[2:6, 2:6] = 1
    good = mask.astype(float)
    partial = np.zeros((8, 8))
    partial[2:6, 2:4] = 1
    noise = np.random.default_rng(0).random((8, 8))
    scores = score_layer("dblock2.0", np.stack([noise, partial, good]), mask, "corrected")
    assert [s.channel for s in scores.scores][:2] == [2, 1]
    assert scores.scores[0].plausibility_iou == 1.0
    assert scores.scores[1].plausibility_iou == pytest.approx(0.5)
    assert all(s.reference == "corrected" and s.layer == "dblock2.0" for s in scores.scores)
    assert scores.top_channels(2) == [2, 1]
    assert scores.rank_of(2) == 1
    assert scores.curves.shape == (3, len(THRESHOLDS))
    assert all(s.threshold in set(np.round(THRESHOLDS.astype(float), 4)) for s in scores.scores)


def test_ties_rank_by_channel_number():
    mask = np.ones((4, 4))
    scores = score_layer("block1.0", np.stack([np.ones((4, 4))] * 3), mask, "predicted")
    assert [s.channel for s in scores.scores] == [0, 1, 2]
    assert all(s.plausibility_iou == 0.0 for s in scores.scores)


def test_unknown_reference_is_refused():
    with pytest.raises(ValueError, match="reference"):
        score_layer("x", np.ones((1, 2, 2)), np.ones((2, 2)), "guess")


def test_scores_from_ious_needs_the_threshold_in_the_ladder():
    with pytest.raises(ValueError):
        scores_from_ious("x", "predicted", 0.33, THRESHOLDS, np.zeros((2, len(THRESHOLDS))))


def test_mean_scores_average_piou_and_share_one_threshold():
    mask_a = np.array([[1, 0], [0, 0]])
    mask_b = np.array([[1, 1], [0, 0]])
    maps = np.stack([np.array([[3.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])])
    a = score_layer("l", maps, mask_a, "ground_truth")
    b = score_layer("l", maps, mask_b, "predicted")
    mean = mean_scores([a, b])
    assert mean.images == 2 and mean.reference == "mixed"
    by = mean.by_channel()
    # channel 0: PIoU 0.5 (a: {0,1} vs {0}) and 1.0 (b) -> 0.75
    assert by[0].plausibility_iou == pytest.approx(0.75)
    assert by[1].plausibility_iou == 0.0
    # best over thresholds of the mean curve: t > 2/3 gives 1.0 on a and 0.5 on b -> 0.75;
    # t <= 2/3 gives 0.5 and 1.0 -> 0.75 as well; the lowest such threshold is reported
    assert by[0].best_iou == pytest.approx(0.75)
    assert by[0].threshold == pytest.approx(0.05)


def test_choose_reference_prefers_ground_truth_then_corrected_then_predicted():
    gt, corr, pred = np.ones((2, 2)), np.zeros((2, 2)), np.eye(2)
    assert choose_reference(gt, corr, pred)[1] == "ground_truth"
    assert choose_reference(None, corr, pred)[1] == "corrected"
    mask, kind = choose_reference(None, None, pred)
    assert kind == "predicted" and (mask == pred).all()
    with pytest.raises(ValueError):
        choose_reference()
