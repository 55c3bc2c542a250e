"""Benchmark: random kill -9 while painting on a disk with slow fsyncs; how much is lost (run by hand).

    python tests/benchmarks/bench_crash_safety.py [--kills 10] [--delays 0.1 0.3] [--rate 20]

For each fsync delay, `--kills` times: a child process opens a folder in a `Session` (offscreen),
applies one-pixel strokes at `--rate` per second (each stroke its own pixel, so the saved mask
tells which strokes reached the disk) and logs each stroke's time to a side file with its own real
fsync; every `os.fsync` of the app sleeps the delay first (a network share, a sleeping USB
drive). The parent kills it with SIGKILL at a random moment, opens the store and counts the
strokes that are not in the saved mask. A stroke older than the budget (1 s with 0.1 s fsyncs,
2 s with 0.3 s fsyncs) must never be lost; the exit status is 1 when one was.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
HEIGHT, WIDTH = 96, 128
BUDGET_S = {0.1: 1.0, 0.3: 2.0}

PAINTER = textwrap.dedent(
    """
    import os, sys, time
    delay, log_path, rate = float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    real_fsync = os.fsync
    def slow_fsync(fd):
        time.sleep(delay)
        real_fsync(fd)
    os.fsync = slow_fsync

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from ukan_studio.canvas.mask_edit import diff_edit
    from ukan_studio.session import Session

    app = QApplication([])
    session = Session()
    session.open_folder(sys.argv[1])
    session.set_current("scan.png")
    log = open(log_path, "a", buffering=1)
    count = [0]

    def paint():
        k = count[0]
        mask = session.current_mask()
        before = mask.copy()
        mask[k // mask.shape[1], k % mask.shape[1]] = 1
        session.push_edit(diff_edit(before, mask), "Brush stroke", already_applied=True)
        log.write(f"{k} {time.time():.6f}\\n")
        log.flush()
        real_fsync(log.fileno())
        count[0] += 1

    timer = QTimer()
    timer.setInterval(int(1000 / rate))
    timer.timeout.connect(paint)
    timer.start()
    print("painting", flush=True)
    app.exec()
    """
)


def one_run(delay: float, rate: float, seed: int) -> tuple[int, int, int, float]:
    """(strokes made, lost, lost beyond the budget, age in s of the oldest lost stroke) of one kill."""
    from ukan_core.annotation import AnnotationStore

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder, home = Path(tmp) / "scans", Path(tmp) / "home"
        folder.mkdir()
        cv2.imwrite(str(folder / "scan.png"), np.full((HEIGHT, WIDTH, 3), 120, np.uint8))
        log_path = Path(tmp) / "strokes.log"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", UKAN_STUDIO_HOME=str(home),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        child = subprocess.Popen([sys.executable, "-c", PAINTER, str(folder), str(delay), str(log_path), str(rate)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            child.stdout.readline()
            time.sleep(rng.uniform(2.0, 5.0))
        finally:
            killed_at = time.time()
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            child.stdout.close()
        strokes = [(int(k), float(t)) for k, t in (line.split() for line in log_path.read_text().splitlines())]
        saved = AnnotationStore.open(folder).mask("scan.png")
        flat = saved.reshape(-1) if saved is not None else np.zeros(HEIGHT * WIDTH, np.uint8)
        lost_ages = [killed_at - t for k, t in strokes if not flat[k]]
        budget = BUDGET_S.get(delay, 1.0)
        return len(strokes), len(lost_ages), sum(a > budget for a in lost_ages), max(lost_ages, default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--delays", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--rate", type=float, default=20.0, help="strokes per second")
    args = parser.parse_args(argv)
    failed = False
    print(f"{'fsync s':>8} {'kills':>6} {'strokes':>8} {'lost':>6} {'over budget':>12} {'max lag s':>10}")
    for delay in args.delays:
        made = lost = over = 0
        worst = 0.0
        for i in range(args.kills):
            m, n, o, age = one_run(delay, args.rate, seed=i)
            made, lost, over, worst = made + m, lost + n, over + o, max(worst, age)
        failed = failed or over > 0
        print(f"{delay:>8.2f} {args.kills:>6} {made:>8} {lost:>6} {over:>12} {worst:>10.2f}"
              f"   (budget {BUDGET_S.get(delay, 1.0):.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
