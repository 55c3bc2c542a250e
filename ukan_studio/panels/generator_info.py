"""What the Generate panel says about a generator and where its samples go.

A generator only makes images like the ones it was trained on: the panel shows that domain
(from the file's `data` / `command` metadata), saves into a `generated/` folder of the user's
data (never into the image folder, where synthetic images would mix with patient data), and
asks before pairs join a training set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from ukan_core.paths import user_data_dir

MAX_DOMAIN_CHARS = 90


def generator_domain(metadata: dict[str, Any]) -> str:
    """A short "trained on" text, e.g. "synthetic ultrasound-like, 64×64" for the bundled generator."""
    size = metadata.get("image_size") or (metadata.get("config") or {}).get("image_size")
    data = str(metadata.get("data") or "").strip()
    command = str(metadata.get("command") or "").strip()
    if "ultrasound-like" in data and "synth" in data:
        what = "synthetic ultrasound-like"
    elif data:
        what = _shorten(data)
    elif command:
        what = f"made with: {_shorten(command)}"
    else:
        what = "unknown images (the file does not say)"
    return f"{what}, {size}×{size}" if isinstance(size, int) and size > 0 else what


def default_save_folder(last_used: Path | None, image_folder: Path | None) -> Path:
    """The last folder used (unless it is the image folder or inside it), else <user data>/generated."""
    if last_used is not None and not _inside(last_used, image_folder):
        return last_used
    return user_data_dir() / "generated"


def confirm_add_pairs(parent: QWidget, count: int, domain: str, folder: Path) -> bool:
    """Ask before synthetic pairs join `folder`'s training set (tests click the box's buttons)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Add synthetic pairs to a training set?",
                      f"Add {count} synthetic image + mask pair(s) to the training set in {folder}?\n\n"
                      f"The generator was trained on: {domain}. Pairs of another kind of image "
                      f"(e.g. ultrasound into MRI) make a model trained there worse.",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName("confirmAddPairs")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_DOMAIN_CHARS else text[:MAX_DOMAIN_CHARS - 1] + "…"
