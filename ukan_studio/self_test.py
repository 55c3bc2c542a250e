"""`ukan-studio --self-test`: prove an installation works without a person at the screen.

Starts the real window offscreen on a copy of the bundled samples (in a temporary home, so the
user's settings and annotations are untouched), segments the first image with the bundled model
through the same worker the Segment button uses, writes the mask to a temporary folder and checks
it is not empty. Exit 0 on success; 1 with one line saying what failed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT_S = 300.0


def run_self_test() -> int:
    """Run the check and print one result line; returns the process exit code."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="ukan-self-test-"))
    os.environ["UKAN_STUDIO_HOME"] = str(work / "home")
    try:
        return _check(work)
    except Exception as exc:  # the self-test reports any failure as one line, never a traceback
        print(f"self-test failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check(work: Path) -> int:
    from ukan_core.assets import samples_dir
    from ukan_core.model_refs import DEFAULT_MODEL, resolve_model
    from ukan_core.io.masks import read_mask, write_mask
    from ukan_studio.startup import create_main_window, ensure_application

    samples = work / "samples"
    shutil.copytree(samples_dir(), samples, ignore=shutil.ignore_patterns("*.md"))
    resolve_model(DEFAULT_MODEL)  # a clear error when the bundled model is missing
    app = ensure_application()
    window = create_main_window(samples, warm_up=False)
    finished: list[str] = []
    window.job_finished.connect(finished.append)
    window.actions["actionSegment"].trigger()
    deadline = time.monotonic() + TIMEOUT_S
    while "segment" not in finished and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    try:
        if "segment" not in finished:
            print(f"self-test failed: segmenting a sample took longer than {TIMEOUT_S:.0f} s", file=sys.stderr)
            return 1
        mask = window.current_mask()
        out = write_mask(work / "out" / "mask.png", (mask > 0).astype("uint8") * 255)
        written = read_mask(out)
        if written.shape != mask.shape or not written.any():
            print(f"self-test failed: the mask of {window.session.current} is empty", file=sys.stderr)
            return 1
        share = float((written > 0).mean())
        print(f"self-test passed: segmented {window.session.current} with {DEFAULT_MODEL} "
              f"({share:.1%} of the image is foreground)")
        return 0
    finally:
        window.close()
