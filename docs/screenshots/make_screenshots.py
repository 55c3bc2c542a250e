"""Make the README's screenshots from the real main window (run by hand; writes PNGs, commits nothing).

Opens a copy of the bundled sample images in the main window at a realistic size, runs Segment
all, paints a brush correction and accepts a few predictions (the corrections Retrain learns
from), then saves three window grabs:

    screenshot-main.png      the main window with the masks (the corrected image on the canvas)
    screenshot-explain.png   Explain run on that image, its heatmap shown on the canvas
    screenshot-retrain.png   the Retrain panel's report after a short Retrain

Everything goes through the app's own actions and buttons and waits for the jobs to finish, as
a user would. Under a real X server (what the README's images are made with):

    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1600x1000x24" \
        python docs/screenshots/make_screenshots.py --out docs

and as a dry run without one: `QT_QPA_PLATFORM=offscreen python docs/screenshots/make_screenshots.py
--out /tmp/shots`. Settings, models and the retrained version go to a temporary UKAN_STUDIO_HOME
(unless one is set), and the samples are copied first, so neither the checkout nor the user's
own data changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "resources" / "samples"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs", help="folder for the PNGs (default: docs/)")
    parser.add_argument("--size", default="1440x900", help="window size WIDTHxHEIGHT (default 1440x900)")
    parser.add_argument("--budget", type=float, default=30.0, help="Retrain budget in seconds (default 30)")
    parser.add_argument("--accept", type=int, default=4,
                        help="predictions accepted besides the painted correction, for Retrain (default 4)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    if not os.environ.get("QT_QPA_PLATFORM") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        print("no display: running offscreen (a dry run)")
    work = Path(tempfile.mkdtemp(prefix="ukan-screenshots-"))
    os.environ.setdefault("UKAN_STUDIO_HOME", str(work / "home"))
    folder = work / "samples"
    folder.mkdir()
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            shutil.copy2(path, folder / path.name)
    sys.path.insert(0, str(REPO_ROOT))
    try:
        return _run(args, folder, width, height)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, folder: Path, width: int, height: int) -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    from tests.studio.job_waiting import wait_job
    from ukan_studio.app import create_main_window, ensure_application

    app = ensure_application()
    window = create_main_window(folder)

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def save(name: str) -> None:
        wait(400)   # the last repaints (status bar sizes, plot) land first
        path = args.out / name
        if not window.grab().save(str(path)):
            raise SystemExit(f"{path}: could not be written")
        print(f"wrote {path}")

    args.out.mkdir(parents=True, exist_ok=True)
    warm = QEventLoop()
    window.warmup.warmed_up.connect(warm.quit)
    QTimer.singleShot(120_000, warm.quit)
    window.resize(width, height)
    window.show()
    warm.exec()
    wait(300)
    actions = window.actions

    started = time.perf_counter()
    actions["actionSegmentAll"].trigger()
    wait_job(window, "segment_all", 300)
    print(f"Segment all: {len(window.session.names)} images in {time.perf_counter() - started:.1f} s")

    first = window.session.current
    _paint_correction(window, wait)
    for _ in range(min(args.accept, len(window.session.names) - 1)):
        actions["actionNextImage"].trigger()
        wait(300)
        actions["actionAcceptMask"].trigger()
    while window.session.current != first:
        actions["actionPrevImage"].trigger()
        wait(300)
    actions["actionFit"].trigger()
    save("screenshot-main.png")

    panel = window.explain_panel
    window._docks["explainDock"].raise_()
    panel.explain_button.click()
    wait_job(window, "explain", 300)
    if not panel.on_image_button.isChecked():
        panel.on_image_button.click()
    save("screenshot-explain.png")
    panel.on_image_button.click()   # the mask again, for the Retrain picture

    window._docks["retrainDock"].raise_()
    window.retrain_panel.budget.setValue(args.budget / 60.0)
    started = time.perf_counter()
    window.retrain_panel.start_button.click()
    wait_job(window, "retrain", args.budget + 600)
    print(f"Retrain: {time.perf_counter() - started:.1f} s; report: {window.retrain_panel.report.text()[:120]!r}")
    save("screenshot-retrain.png")

    window.session.flush(wait=True)
    window.close()
    app.processEvents()
    return 0


def _paint_correction(window, wait) -> None:
    """One brush stroke with real mouse events: a bulge painted onto the lesion's right edge."""
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window.actions["actionToolBrush"].trigger()
    window.actions["actionFit"].trigger()
    wait(200)
    mask = window.current_mask()
    if mask is None:
        raise SystemExit("no mask on the canvas after Segment all")
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    if len(xs):
        cy, right = int(np.median(ys)), int(xs.max())
        radius = max(4, (int(ys.max()) - int(ys.min())) // 4)
    else:
        cy, right, radius = height // 2, width // 2, max(4, min(height, width) // 12)
    window.brush_spin.setValue(max(2, radius))
    canvas, viewport = window.canvas, window.canvas.viewport()
    points = [(min(width - 1, right + radius // 2), cy + dy) for dy in range(-radius, radius + 1, max(1, radius // 4))]
    left = Qt.MouseButton.LeftButton
    QTest.mousePress(viewport, left, Qt.KeyboardModifier.NoModifier, canvas.image_to_widget(*points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(viewport, canvas.image_to_widget(x, y))
        wait(16)
    QTest.mouseRelease(viewport, left, Qt.KeyboardModifier.NoModifier, canvas.image_to_widget(*points[-1]))
    wait(300)
    if window.session.status(window.session.current) != "corrected":
        raise SystemExit("the brush stroke did not correct the mask")


if __name__ == "__main__":
    sys.exit(main())
