"""The autosave hands large masks to the writer a few at a time, so the window answers in between."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtGui import QAction


def test_autosave_copies_masks_in_batches_and_saves_them_all(window, qtbot, image_folder: Path) -> None:
    session = window.session
    for _ in range(3):   # visit the images: each gets an undo history, so a prediction is an undo step
        window.findChild(QAction, "actionNextImage").trigger()
    window.navigation.select_row(0)
    session.flush()
    predictions = {}
    for i, name in enumerate(("case01.png", "case02.png", "case03.png")):
        mask = np.zeros((96, 128), np.uint8)
        mask[10:40, 10 + 20 * i:40 + 20 * i] = 1
        assert session.set_prediction(name, mask, "tiny")
        predictions[name] = mask
    saver = session._saver
    assert sorted(saver.pending) == sorted(predictions)
    saver.flush(wait=False, batch_bytes=96 * 128)        # one mask's worth now ...
    assert len(saver.pending) == 2
    qtbot.waitUntil(lambda: not saver.pending, timeout=2000)   # ... the rest at the next turns
    session.flush()
    for name, mask in predictions.items():
        saved = cv2.imread(str(image_folder / ".ukan-studio" / "masks" / f"{name}@0.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(saved, mask)
        assert session.store.status(name) == "predicted"
