"""A large mask copy reuses pages the process already has, instead of faulting in fresh ones."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from ukan_studio.memory_reuse import keep_freed_memory_for_reuse
    assert keep_freed_memory_for_reuse()
mask = np.ones((3000, 4000), np.uint8)   # a 12-megapixel mask
for _ in range(3):   # what a prediction landing does: a few large copies (undo, diff, autosave), dropped
    copies = [mask.copy() for _ in range(4)]
    del copies
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
copy = mask.copy()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="the tuning is glibc's malloc; other systems keep their own allocator")
def test_a_12_megapixel_copy_faults_in_no_fresh_pages_once_tuned() -> None:
    pages = 3000 * 4000 // 4096
    tuned, plain = _page_faults("tuned"), _page_faults("plain")
    # glibc's default trims the freed blocks back to the kernel (343 fresh pages here); tuned, none
    assert tuned < pages // 50 <= plain, (tuned, plain)


def test_elsewhere_it_is_a_harmless_no_op(monkeypatch) -> None:
    from ukan_studio import memory_reuse

    monkeypatch.setattr(memory_reuse.sys, "platform", "darwin")
    assert memory_reuse.keep_freed_memory_for_reuse() is False
