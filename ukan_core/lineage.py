"""A project's own model: the store name of a folder's lineage, how it is shown, and the folder's model record.

Each annotated folder (a "project") retrains into its own lineage of model versions, so an MRI
project's retrained model never becomes the model of an ultrasound project. The lineage name is
the folder's name plus a short hash of its resolved path (two folders both called `scans` stay
apart), within the store's name rules: `/data/mri brain` -> `mri-brain-3f2a`, shown as
"mri-brain v1". The folder's annotation store records which model it uses (`model_ref`).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from ukan_core.store import check_model_name, valid_model_name

HASH_LENGTH = 4
_NAME_LIMIT = 80 - HASH_LENGTH - 1
_HASHED = re.compile(rf"^(?P<stem>.+)-[0-9a-f]{{{HASH_LENGTH}}}$")
_VERSION = re.compile(r"^v0*(?P<number>\d+)$")


def project_lineage(folder: str | os.PathLike[str]) -> str:
    """The store name of the model lineage of image folder `folder`: `<folder name>-<4 hex of its path>`."""
    resolved = Path(folder).expanduser().resolve()
    digest = hashlib.sha256(os.fsencode(str(resolved))).hexdigest()[:HASH_LENGTH]
    stem = valid_model_name(resolved.name or "project")[:_NAME_LIMIT].rstrip("-._") or "project"
    return check_model_name(f"{stem}-{digest}")


def lineage_display(name: str, version: str | None = None) -> str:
    """How a model is shown to people: "mri-brain v1" for `mri-brain-3f2a/v0001`.

    The hash of a lineage name and the zeros of a version number are dropped; other names are
    shown as they are.
    """
    if version is None and "/" in name:
        name, _, version = name.partition("/")
    match = _HASHED.match(name)
    shown = match.group("stem") if match else name
    if version:
        number = _VERSION.match(version)
        shown = f"{shown} v{int(number.group('number'))}" if number else f"{shown} {version}"
    return shown


def folder_model(folder: str | os.PathLike[str]) -> str | None:
    """The model recorded for `folder` (name, name/version or path), or None (the bundled default).

    Reads only: a folder without an annotation store, or whose store cannot be read, has none.
    """
    from ukan_core.annotation.store import INDEX_FILE, STORE_FOLDER, AnnotationStore, fallback_location
    from ukan_core.errors import UkanError

    folder = Path(folder)
    if not ((folder / STORE_FOLDER / INDEX_FILE).is_file() or (fallback_location(folder) / INDEX_FILE).is_file()):
        return None
    try:
        return AnnotationStore.open(folder).model_ref
    except (UkanError, OSError):
        return None


def record_folder_model(folder: str | os.PathLike[str], ref: str | None) -> None:
    """Save `ref` as the model `folder` uses, in the folder's annotation index (atomically)."""
    from ukan_core.annotation.store import AnnotationStore

    AnnotationStore.open(Path(folder)).set_model_ref(ref)


def finetune_folder(folder: str | os.PathLike[str], pairs: Any = None, *, base: Any = None,
                    name: str | None = None, **options: Any) -> Any:
    """Fine-tune on a project's corrections into its own lineage; returns the `FinetuneReport`.

    `base` defaults to the folder's recorded model, else the bundled default; `name` to
    `project_lineage(folder)`; `pairs` to the folder's corrected images. The new version's
    parent is the base. When the core selects the new version (a clear gain), the folder's model
    record is updated to it; otherwise the folder keeps its model. `options` go to `finetune`.
    """
    from ukan_core.data.folders import studio_corrected_pairs
    from ukan_core.model_refs import DEFAULT_MODEL
    from ukan_core.training.finetune import finetune

    folder = Path(folder)
    pairs = list(pairs) if pairs is not None else studio_corrected_pairs(folder)
    base = base or folder_model(folder) or DEFAULT_MODEL
    report = finetune(base, pairs, name=name or project_lineage(folder), **options)
    if report.selected and report.version is not None:
        record_folder_model(folder, str(getattr(report.version, "ref", report.version)))
    return report
