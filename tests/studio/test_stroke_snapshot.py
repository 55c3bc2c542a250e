"""A stroke's "before" pixels are kept tile by tile: the same edit as a full copy, far fewer bytes."""

from __future__ import annotations

import numpy as np

from ukan_studio.canvas import mask_edit
from ukan_studio.canvas.stroke_snapshot import TILE, StrokeSnapshot


def _stroke(mask: np.ndarray, snapshot: StrokeSnapshot | None, points: list[tuple[int, int]], size: int) -> tuple:
    rect = None
    for start, end in zip(points, points[1:]):
        if snapshot is not None:
            snapshot.keep(mask_edit.segment_rect(mask.shape, start, end, size))
        rect = mask_edit.union_rect(rect, mask_edit.paint_segment(mask, start, end, size, 2))
    return rect


def test_a_brush_stroke_gives_the_same_edit_as_a_full_copy_and_copies_only_its_tiles() -> None:
    rng = np.random.default_rng(0)
    start_mask = (rng.random((3000, 4000)) < 0.3).astype(np.uint8)
    points = [(1000, 900), (1100, 950), (1300, 1200), (1290, 1210)]   # crosses tile borders

    full = start_mask.copy()
    before = full.copy()
    rect = _stroke(full, None, points, 25)
    expected = mask_edit.diff_edit(before, full, rect)

    live = start_mask.copy()
    snapshot = StrokeSnapshot(live)
    rect_live = _stroke(live, snapshot, points, 25)
    edit = snapshot.edit(rect_live)

    assert rect_live == rect and edit is not None and expected is not None
    assert (edit.top, edit.left) == (expected.top, expected.left)
    assert np.array_equal(edit.before, expected.before) and np.array_equal(edit.after, expected.after)
    kept = sum(tile.nbytes for tile in snapshot._tiles.values())
    assert kept <= 6 * TILE * TILE < start_mask.nbytes // 20

    snapshot.restore(rect_live)   # a cancelled stroke gives back every pixel
    assert np.array_equal(live, start_mask)


def test_keep_all_covers_a_fill_and_edges_of_odd_sized_masks() -> None:
    mask = np.zeros((TILE + 37, 2 * TILE + 5), np.uint8)
    mask[:, : TILE // 2] = 1
    snapshot = StrokeSnapshot(mask)
    snapshot.keep(None)
    rect = mask_edit.flood_fill(mask, (mask.shape[1] - 1, mask.shape[0] - 1), 3)
    edit = snapshot.edit(rect)
    assert edit is not None and edit.rect == (0, TILE // 2, mask.shape[0], mask.shape[1])
    assert (edit.before == 0).all() and (edit.after == 3).all()
    snapshot.restore(rect)
    assert int(mask.max()) == 1 and mask[:, TILE // 2:].sum() == 0


def test_a_stroke_that_changed_nothing_gives_no_edit() -> None:
    mask = np.ones((600, 600), np.uint8) * 2
    snapshot = StrokeSnapshot(mask)
    rect = _stroke(mask, snapshot, [(10, 10), (500, 500)], 9)   # paints label 2 on label 2
    assert snapshot.edit(rect) is None and snapshot.edit((0, 0, 0, 0)) is None
