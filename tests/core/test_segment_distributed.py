"""`torchrun ... -m ukan_core.cli.main segment`: files shared across ranks, masks equal one process's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.test_cli_segment import save_tiny
from ukan_core.cli.main import main
from ukan_core.io.listing import list_images

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _folder(root: Path) -> Path:
    folder = root / "scans"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(5):
        cv2.imwrite(str(folder / f"scan{i}.png"), rng.integers(0, 256, (40 + 8 * i, 48, 3), dtype=np.uint8))
    (folder / "scan5_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


@pytest.mark.slow
def test_two_gloo_ranks_write_the_single_process_masks_and_report_a_bad_file_once(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = save_tiny(tmp_path / "tiny.safetensors")
    folder = _folder(tmp_path)
    listed = [p.name for p in list_images([folder]).images]
    assert listed.index("scan5_broken.png") % 2 == 1   # the bad file is rank 1's
    assert main(["segment", str(folder), "--out", str(tmp_path / "single"), "--model", str(model),
                 "--batch-size", "1"]) == 1
    capsys.readouterr()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), "-m", "ukan_core.cli.main", "segment", str(folder),
         "--out", str(tmp_path / "ranks"), "--model", str(model), "--batch-size", "1", "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert run.returncode != 0, run.stderr   # some file failed
    assert run.stdout.count("segmented 5 images, 1 failed") == 1, run.stdout + run.stderr
    bad_lines = [line for line in run.stderr.splitlines() if line.startswith("error: scan5_broken.png")]
    assert len(bad_lines) == 1, run.stderr
    single = sorted(p.name for p in (tmp_path / "single").iterdir())
    assert single == sorted(p.name for p in (tmp_path / "ranks").iterdir()) and len(single) == 5
    for name in single:
        assert (tmp_path / "single" / name).read_bytes() == (tmp_path / "ranks" / name).read_bytes(), name


def test_the_module_form_runs_the_command_line() -> None:
    run = subprocess.run([sys.executable, "-m", "ukan_core.cli", "segment", "--help"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0 and "torchrun" not in run.stderr and "--batch-size" in run.stdout
