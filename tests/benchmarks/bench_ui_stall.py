"""How long does the window freeze while Segment all, Retrain and Generate run? (run by hand)

A 10 ms QTimer heartbeat runs on the GUI thread while the jobs run in their workers; the
largest gap between two beats is the longest the window could not answer. Target: <= 50 ms
on 2 cores.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_ui_stall.py [--images 40] [--size 256]
        [--model PATH] [--budget 20] [--generator NAME_OR_PATH] [--trace [MS]]
        [--phases segment_all,retrain,generate,large] [--large-images 6]

The `large` phase opens a folder of 12-megapixel (4000×3000) images and measures switching
between them (decoded in the background, neighbours prefetched), painting brush strokes at
60 moves a second, Segment all on them, and switching again once every image has a saved mask.

--trace samples the GUI thread's Python stack whenever a beat is late and prints the most common
stacks, to find what froze the window.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "studio"))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QObject, QTimer, Slot  # noqa: E402

from tests.studio.job_waiting import wait_job  # noqa: E402


class Heartbeat(QObject):
    """Records the gaps between 10 ms timer ticks."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.ends: list[float] = []
        self.timer = QTimer(self)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self.on_tick)
        self._last = 0.0
        self.gc_pauses: list[tuple[int, float]] = []   # (generation, ms): a collection holds the GIL
        self._gc_started = 0.0
        self._running = False
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._running:   # a plain flag: this callback also runs after Qt has deleted the timer, at exit
            ms = 1000 * (time.perf_counter() - self._gc_started)
            if ms > 10:
                self.gc_pauses.append((int(info["generation"]), ms))

    def start(self) -> None:
        self.gaps.clear()
        self.ends.clear()
        self.gc_pauses.clear()
        self.clock.start()
        self._last = 0.0
        self._running = True
        self.timer.start()

    def stop(self) -> None:
        self._running = False
        self.timer.stop()

    @Slot()
    def on_tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self._last)
        self.ends.append(now)
        self._last = now

    def summary(self) -> str:
        gaps = sorted(self.gaps)
        if not gaps:
            return "no beats"
        p99 = gaps[int(0.99 * (len(gaps) - 1))]
        worst = sorted(zip(self.gaps, self.ends), reverse=True)[:3]
        where = ", ".join(f"{gap:.0f} ms ending at {end / 1000:.2f} s" for gap, end in worst)
        pauses = ", ".join(f"gen {g} {ms:.0f} ms" for g, ms in self.gc_pauses) or "none"
        return (f"max gap {gaps[-1]:.1f} ms, p99 {p99:.1f} ms over {len(gaps)} beats (worst: {where}; "
                f"gc pauses over 10 ms: {pauses})")


class StallTracer:
    """A watchdog thread: while the GUI thread is more than `late_ms` past its beat, sample its stack."""

    def __init__(self, beat: Heartbeat, late_ms: float = 25.0) -> None:
        self.beat, self.late_ms = beat, late_ms
        self.gui_thread = threading.get_ident()
        self.samples: collections.Counter[str] = collections.Counter()
        self.others: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            if not self.beat.timer.isActive():
                continue
            late = self.beat.clock.nsecsElapsed() / 1e6 - self.beat._last
            if late < self.late_ms:
                continue
            frame = sys._current_frames().get(self.gui_thread)
            if frame is None:
                continue
            self.samples[_stack_text(frame)] += 1
            # A worker that holds the interpreter lock in one long C call freezes the GUI thread
            # too: its stack, sampled as soon as this thread gets the lock, names the call.
            for ident, other in sys._current_frames().items():
                if ident not in (self.gui_thread, threading.get_ident()):
                    self.others[_stack_text(other)] += 1

    def report(self, top: int = 6) -> str:
        lines = [f"{count} samples (5 ms each) while late:\n{stack}" for stack, count in self.samples.most_common(top)]
        lines += [f"{count} samples of another thread meanwhile:\n{stack}"
                  for stack, count in self.others.most_common(top)]
        return "\n".join(lines) or "no late beats sampled"


def _stack_text(frame) -> str:
    return "\n".join(f"    {Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)[-8:])


def _tiny_model(folder: Path) -> Path:
    import torch

    from ukan_core.io.checkpoints import save_checkpoint
    from ukan_core.models.registry import build_model

    torch.manual_seed(0)
    path = folder / "bench-ukan.safetensors"
    save_checkpoint(build_model("ukan", {"embed_dims": (32, 48, 64)}), path,
                    {"preprocessing": {"mode": "standard", "fit": "resize", "input_size": [256, 256]},
                     "input_size": [256, 256], "name": "bench-ukan", "class_names": ["lesion"]})
    return path


def _tiny_generator(folder: Path) -> Path:
    import torch

    from ukan_core.io.checkpoints import save_checkpoint
    from ukan_core.models.registry import build_model

    torch.manual_seed(0)
    path = folder / "bench-generator.safetensors"
    config = {"ch": 32, "ch_mult": [1, 2, 2, 4], "num_res_blocks": 1, "embed_dims": [128, 160, 256],
              "image_size": 64, "in_channels": 2}
    save_checkpoint(build_model("diffusion_ukan", config), path, {"name": "bench-generator", "pairs": True})
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--budget", type=float, default=20.0, help="retrain budget in seconds")
    parser.add_argument("--generator", default=None,
                        help="generator for the Generate phase (default: a random one of the bundled size)")
    parser.add_argument("--trace", type=float, nargs="?", const=25.0, default=None, metavar="MS",
                        help="sample the GUI thread's stack when a beat is more than MS late (default 25)")
    parser.add_argument("--phases", default="segment_all,retrain,generate",
                        help="comma-separated phases to run (default: the first three; add large)")
    parser.add_argument("--large-images", type=int, default=6, help="12 MP images of the large phase")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="ukan-bench-"))
    os.environ.setdefault("UKAN_STUDIO_HOME", str(work / "home"))

    import cv2

    from conftest import synthetic_scan
    from ukan_studio.app import create_main_window, ensure_application

    folder = work / "scans"
    folder.mkdir()
    truths = {}
    for i in range(args.images):
        image, mask = synthetic_scan(i, args.size, args.size)
        cv2.imwrite(str(folder / f"scan{i:03d}.png"), image)
        truths[f"scan{i:03d}.png"] = mask
    model = args.model or _tiny_model(work)

    app = ensure_application()
    window = create_main_window(folder)   # as the app starts: warm-up imports torch and the engine
    warm = QEventLoop()
    window.warmup.warmed_up.connect(warm.quit)
    QTimer.singleShot(120_000, warm.quit)
    warm.exec()
    window.settings.device = "cpu"
    window.models_panel.add_model_file(model)
    window.show()
    app.processEvents()
    beat = Heartbeat()
    tracer = StallTracer(beat, args.trace) if args.trace else None
    if tracer:
        tracer.start()

    print(f"device: {window.device_label.text()}")
    if "segment_all" in phases:
        beat.start()
        started = time.perf_counter()
        window.findChild(type(window.actions["actionSegmentAll"]), "actionSegmentAll").trigger()
        wait_job(window, "segment_all", 600)
        beat.stop()
        print(f"Segment all ({args.images} images, {time.perf_counter() - started:.1f} s): {beat.summary()}")
    if "retrain" in phases:
        _retrain_phase(window, args, truths, beat)
    if "generate" in phases:
        _generate_phase(app, window, args, work, beat)
    if "large" in phases:
        _large_phase(app, window, args, work, beat)
    if tracer:
        tracer.stop()
        print(tracer.report())
    window.close()
    return 0


def _retrain_phase(window, args, truths, beat: Heartbeat) -> None:
    """Retrain on six corrected images within the budget."""
    for name in list(truths)[:6]:
        window.session.store.save_mask(name, truths[name], "corrected")
    window.retrain_panel.budget.setValue(args.budget / 60.0)
    beat.start()
    started = time.perf_counter()
    window.actions["actionRetrain"].trigger()
    wait_job(window, "retrain", args.budget + 600)
    beat.stop()
    print(f"Retrain (budget {args.budget:.0f} s, {time.perf_counter() - started:.1f} s): {beat.summary()}")
    print(f"retrain report: {window.retrain_panel.report.text()!r}")


def _generate_phase(app, window, args, work: Path, beat: Heartbeat) -> None:
    """Generate 16 images with the live preview shown."""
    panel = window.generate_panel
    panel.add_generator_file(args.generator or _tiny_generator(work))
    panel.count.setValue(16)
    panel.random_seed.setChecked(False)
    window._docks["generateDock"].raise_()   # the preview and gallery are drawn while it runs
    app.processEvents()
    beat.start()
    started = time.perf_counter()
    panel.generate_button.click()
    wait_job(window, "generate", 600)
    beat.stop()
    print(f"Generate (16 images, {panel.steps.value()} steps, {time.perf_counter() - started:.1f} s): {beat.summary()}")


def _run_for(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class _Driver(QObject):
    """Plays a user's actions from a timer, so the event loop (and the heartbeat) runs between them."""

    def __init__(self, steps, interval_ms: int) -> None:
        super().__init__()
        self.steps, self.done = list(steps), QEventLoop()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.on_tick)

    def run(self) -> None:
        self.timer.start()
        self.done.exec()

    @Slot()
    def on_tick(self) -> None:
        if not self.steps:
            self.timer.stop()
            self.done.quit()
            return
        self.steps.pop(0)()


def _large_phase(app, window, args, work: Path, beat: Heartbeat) -> None:
    """12 MP images: switching (background decode), painting, Segment all."""
    import cv2
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from conftest import synthetic_scan

    folder = work / "large"
    folder.mkdir()
    made = time.perf_counter()
    for i in range(args.large_images):
        image, _mask = synthetic_scan(1000 + i, 3000, 4000)
        cv2.imwrite(str(folder / f"big{i:02d}.png"), image[..., 0])
    size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6 / args.large_images
    print(f"large: {args.large_images} images 4000×3000 ({size_mb:.1f} MB each, made in "
          f"{time.perf_counter() - made:.1f} s)")
    window.open_folder(folder)
    session = window.session
    while session.image is None:
        app.processEvents()
    started = time.perf_counter()
    from ukan_core.io.images import read_image

    read_image(folder / "big01.png")
    print(f"large: one decode on this thread takes {1000 * (time.perf_counter() - started):.0f} ms")
    _run_for(1500)

    def switch(action: str):
        return lambda: window.actions[action].trigger()

    shown: list[float] = []
    window.navigation.image_shown.connect(lambda: shown.append(time.perf_counter()))
    steps = [switch("actionNextImage")] * (args.large_images - 1) + [switch("actionPrevImage")] * 2
    beat.start()
    started = time.perf_counter()
    _Driver(steps, 600).run()
    while session.image is None:
        app.processEvents()
    _run_for(300)
    beat.stop()
    print(f"large: switching ({len(steps)} switches, {time.perf_counter() - started:.1f} s): {beat.summary()}")

    canvas = window.canvas
    canvas.fit()
    viewport = canvas.viewport()
    window.brush_spin.setValue(40)
    points = [(600 + 30 * k, 1500 + (k % 7) * 20) for k in range(80)]
    steps = [lambda: QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                                      canvas.image_to_widget(*points[0]))]
    steps += [(lambda p=p: QTest.mouseMove(viewport, canvas.image_to_widget(*p))) for p in points[1:]]
    steps += [lambda: QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                                         canvas.image_to_widget(*points[-1]))]
    beat.start()
    _Driver(steps, 16).run()
    _run_for(600)   # the autosave of the stroke
    beat.stop()
    print(f"large: painting (one stroke of {len(points)} moves at 60 Hz): {beat.summary()}")

    beat.start()
    started = time.perf_counter()
    window.actions["actionSegmentAll"].trigger()
    wait_job(window, "segment_all", 1200)
    _run_for(600)
    beat.stop()
    print(f"large: Segment all ({args.large_images - 1} images not corrected, "
          f"{time.perf_counter() - started:.1f} s): {beat.summary()}")

    window.open_folder(folder)   # again: every image has a saved mask now, read along in the background
    while session.image is None:
        app.processEvents()
    _run_for(1500)
    steps = [switch("actionNextImage")] * (args.large_images - 1)
    beat.start()
    _Driver(steps, 600).run()
    while session.image is None:
        app.processEvents()
    _run_for(300)
    beat.stop()
    print(f"large: switching with saved masks ({len(steps)} switches): {beat.summary()}")


if __name__ == "__main__":
    sys.exit(main())
