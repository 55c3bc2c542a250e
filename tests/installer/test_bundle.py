"""The PyInstaller bundle: build the Linux one-folder bundle once, then run the frozen app and CLI.

Slow (the build takes minutes). Skipped off Linux and when PyInstaller is not installed. Everything
is built into a temporary folder and removed afterwards.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing import resource_tracker, spawn
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "installer" / "build.py"
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 600
_REAL_PREPARATION_DATA = spawn.get_preparation_data

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT_S + RUN_TIMEOUT_S)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built `ukan-studio/` bundle folder (built once for this module, deleted after it)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("builds the Linux bundle; Windows and macOS bundles are built by hand (installer/README.md)")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip('PyInstaller is not installed (python -m pip install -e ".[installer]")')
    out = tmp_path_factory.mktemp("bundle")
    try:
        result = subprocess.run(
            [sys.executable, str(BUILD_SCRIPT), "--dist", str(out / "dist"), "--work", str(out / "work"),
             "--no-archive"],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
        assert result.returncode == 0, f"build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        assert "bundle: " in result.stdout
        yield out / "dist" / "ukan-studio"
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _run(command: list[str | Path], home: Path, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "UKAN_STUDIO_HOME": str(home)}
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def test_bundle_holds_both_executables_resources_and_linux_files(bundle: Path) -> None:
    for name in ("ukan-studio", "ukan", "install-desktop-entry.sh"):
        assert os.access(bundle / name, os.X_OK), name
    assert (bundle / "ukan-studio.desktop").is_file() and (bundle / "ukan-studio.png").is_file()
    resources = bundle / "_internal" / "resources"   # sys._MEIPASS / "resources", where ukan_core.assets looks
    assert list((resources / "models").glob("*.safetensors"))
    assert list((resources / "samples").glob("*.png"))
    assert (resources / "icons" / "ukan-studio.png").is_file()


def test_bundle_is_trimmed(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (internal / "torch" / "lib").is_dir()
    assert (internal / "torch" / "bin" / "torch_shm_manager").is_file()
    for dropped in ("torch/test", "torch/include", "torch/bin/test_api", "PySide6/Qt/translations",
                    "PySide6/Qt/plugins/platformthemes/libqgtk3.so", "scipy", "IPython", "tkinter"):
        assert not (internal / dropped).exists(), dropped
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").is_file()
    dangling = [path.name for path in internal.iterdir() if path.is_symlink() and not path.exists()]
    assert not dangling


def test_frozen_app_self_test_passes(bundle: Path, tmp_path: Path) -> None:
    result = _run([bundle / "ukan-studio", "--self-test"], tmp_path / "home")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "self-test passed" in result.stdout


def test_frozen_cli_help_and_segment(bundle: Path, tmp_path: Path) -> None:
    from ukan_core.assets import samples_dir
    from ukan_core.io.images import read_image
    from ukan_core.io.masks import read_mask

    help_run = _run([bundle / "ukan", "--help"], tmp_path / "home", timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert "segment" in help_run.stdout and "train" in help_run.stdout

    sample = min(samples_dir().glob("*.png"))
    segment = _run([bundle / "ukan", "segment", sample, "--out", tmp_path / "masks"], tmp_path / "home")
    assert segment.returncode == 0, segment.stderr[-3000:]
    mask = read_mask(tmp_path / "masks" / f"{sample.stem}.png")
    assert mask.shape == read_image(sample).pixels.shape[:2]
    assert mask.any()


@dataclasses.dataclass
class _FrozenSpawn:
    """multiprocessing's spawn, pointed at a frozen executable the way a frozen parent starts its child:
    `<exe> --multiprocessing-fork tracker_fd=N pipe_handle=M`, without this interpreter's paths."""

    executable: Path

    def command_line(self, **kwds: object) -> list[str]:
        return [str(self.executable), "--multiprocessing-fork", *(f"{key}={value}" for key, value in kwds.items())]

    def preparation_data(self, name: str) -> dict:
        data = _REAL_PREPARATION_DATA(name)
        for key in ("sys_path", "sys_argv", "init_main_from_path", "init_main_from_name"):
            data.pop(key, None)   # the frozen child has its own paths and its own __main__
        return data


def test_frozen_app_runs_the_retrain_child_process(bundle: Path, tmp_path: Path) -> None:
    """Retrain's spawn child is the bundle's `ukan-studio` started with --multiprocessing-fork; it must
    become the training process (freeze_support) and send back a fine-tune report."""
    from ukan_core.data.folders import Pair
    from ukan_core.data.synthetic import write_synthetic_dataset
    from ukan_core.training.recipes import FINETUNE
    from ukan_studio.workers.training_process import TrainingProcess

    write_synthetic_dataset(tmp_path / "data", 3, seed=1, size=64)
    images = sorted((tmp_path / "data" / "images").glob("*.png"))
    pairs = [Pair(image=image, masks=(tmp_path / "data" / "masks" / "0" / image.name,), id=image.stem)
             for image in images]
    options = {"device": "cpu", "recipe": dataclasses.replace(FINETUNE, max_steps=1), "save": False}

    frozen = _FrozenSpawn(bundle / "ukan-studio")
    resource_tracker.ensure_running()   # the tracker stays this interpreter's own process
    with mock.patch.object(spawn, "get_command_line", frozen.command_line), \
            mock.patch.object(spawn, "get_executable", lambda: os.fsencode(frozen.executable)), \
            mock.patch.object(spawn, "get_preparation_data", frozen.preparation_data):
        process = TrainingProcess("ukan-synthetic-us", pairs, options)
    (child,) = [child for child in multiprocessing.active_children() if child.name == "ukan-retrain"]
    try:
        message = None
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            message = process.poll(0.5)
            if message is not None and message[0] != "progress":
                break
        assert message is not None and message[0] == "done", message
        assert message[1].base == "ukan-synthetic-us"
    finally:
        process.cancel()
        process.close()
    assert child.exitcode == 0


def test_desktop_entry_installs_and_removes(bundle: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "share")}
    script = bundle / "install-desktop-entry.sh"
    installed = subprocess.run([str(script)], env=env, capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    entry = tmp_path / "share" / "applications" / "ukan-studio.desktop"
    assert f'Exec="{bundle}/ukan-studio"' in entry.read_text().splitlines()
    assert (tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "ukan-studio.png").is_file()
    removed = subprocess.run([str(script), "--remove"], env=env, capture_output=True, text=True, check=False)
    assert removed.returncode == 0, removed.stderr
    assert not entry.exists()
