"""The model store: named models with numbered versions, one selected, plus the bundled models.

Layout under `ukan_core.paths.model_store_dir()`:

    <name>/<version>/model.safetensors   the checkpoint (see ukan_core.io.checkpoints)
    <name>/<version>/model.json          its metadata, for listing without torch
    <name>/selected.json                 {"version": "v0003"}

Versions are "v0001", "v0002", ...; a bundled model (`resources/models/<name>.safetensors`) is
the read-only version "bundled" of its name. A version is written into `<version>.partial/` and
renamed into place, so a crash mid-save leaves no half version; leftover `.partial` folders are
ignored and removed once stale. This module imports torch only to save a new version.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ukan_core.assets import bundled_models_dir
from ukan_core.atomic import atomic_path, atomic_write_text
from ukan_core.errors import CheckpointError, OutputExistsError, StoreError
from ukan_core.io.checkpoint_schema import load_json, validate_metadata
from ukan_core.io.checkpoints import CHECKPOINT_SUFFIX, read_checkpoint_info
from ukan_core.paths import model_store_dir

if TYPE_CHECKING:
    from torch import nn

BUNDLED = "bundled"
MODEL_FILE = "model.safetensors"
METADATA_FILE = "model.json"
SELECTED_FILE = "selected.json"
PARTIAL_SUFFIX = ".partial"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_VERSION = re.compile(r"^v(\d{4,})$")
_TOMBSTONE = ".deleted"


@dataclass(frozen=True)
class VersionInfo:
    """One version of a named model; `metadata` is its checkpoint metadata."""

    name: str
    version: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    read_only: bool = False
    selected: bool = False
    problem: str | None = None  # why the metadata could not be read, if it could not

    @property
    def ref(self) -> str:
        """"name/version", as accepted by `load_model` and the CLI."""
        return f"{self.name}/{self.version}"

    @property
    def created(self) -> str | None:
        return self.metadata.get("created")

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.metadata.get("metrics") or {})

    @property
    def parent(self) -> Any:
        return self.metadata.get("parent")


@dataclass(frozen=True)
class ModelEntry:
    """A named model: its versions (bundled first, then oldest to newest) and the selected one."""

    name: str
    versions: tuple[VersionInfo, ...]
    selected: str | None

    @property
    def read_only(self) -> bool:
        """True for a bundled model that has no versions of the user's own."""
        return all(v.read_only for v in self.versions)

    @property
    def current(self) -> VersionInfo | None:
        return next((v for v in self.versions if v.version == self.selected), None)


class ModelStore:
    """Named, versioned models under `root` (default: the user's model store) plus bundled ones."""

    stale_after_s: float = 600.0  # a `.partial` folder untouched this long belongs to a dead save

    def __init__(self, root: str | Path | None = None, *, bundled_dir: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else model_store_dir()
        self.bundled_dir = Path(bundled_dir) if bundled_dir is not None else bundled_models_dir()

    # -- reading -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every model name, store and bundled, sorted."""
        names = {p.stem for p in self._bundled_files()}
        if self.root.is_dir():
            names.update(p.name for p in self.root.iterdir()
                         if p.is_dir() and _NAME.match(p.name) and self._store_versions(p.name))
        return sorted(names)

    def list_models(self) -> list[ModelEntry]:
        """All models with their versions and metadata; bundled versions are marked read-only."""
        entries = []
        for name in self.names():
            selected = self.selected(name)
            versions = tuple(
                VersionInfo(v.name, v.version, v.path, v.metadata, v.read_only, v.version == selected, v.problem)
                for v in self._versions(name)
            )
            entries.append(ModelEntry(name, versions, selected))
        return entries

    def versions(self, name: str) -> list[VersionInfo]:
        """The versions of `name`, bundled first, then v0001, v0002, ...; the selected one marked."""
        selected = self.selected(name)
        return [VersionInfo(v.name, v.version, v.path, v.metadata, v.read_only, v.version == selected, v.problem)
                for v in self._versions(name)]

    def selected(self, name: str) -> str:
        """The selected version of `name`: selected.json, else the newest version, else "bundled"."""
        available = self._version_names(name)
        if not available:
            raise StoreError(self._unknown(name))
        choice = self._read_selected(name)
        if choice in available:
            return choice
        return available[-1]

    def version_info(self, name: str, version: str | None = None) -> VersionInfo:
        """One version (default: the selected one) with its metadata."""
        version = version or self.selected(name)
        for info in self.versions(name):
            if info.version == version:
                return info
        raise StoreError(f"{name}/{version}: no such version (have: {', '.join(self._version_names(name))})")

    def path(self, name: str, version: str | None = None) -> Path:
        """The checkpoint file of `name`/`version` (default: the selected version)."""
        return self.version_info(name, version).path

    # -- changing ------------------------------------------------------------------------------
    def select(self, name: str, version: str) -> None:
        """Make `version` the one `load_model(name)` and the Studio use."""
        if version not in self._version_names(name):
            raise StoreError(f"{name}/{version}: no such version (have: {', '.join(self._version_names(name))})")
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / SELECTED_FILE, json.dumps({"version": version}) + "\n")

    def rollback(self, name: str) -> str:
        """Select the parent of the selected version and return it."""
        current = self.version_info(name)
        parent_name, parent_version = _parse_parent(current.parent, name)
        if parent_name is None:
            raise StoreError(f"{current.ref}: has no parent version to roll back to")
        if parent_name != name:
            raise StoreError(f"{current.ref}: its parent is {parent_name}/{parent_version or BUNDLED}, "
                             f"another model; select that one instead")
        parent_version = parent_version or BUNDLED
        if parent_version not in self._version_names(name):
            raise StoreError(f"{current.ref}: its parent {name}/{parent_version} no longer exists")
        self.select(name, parent_version)
        return parent_version

    def delete(self, name: str, version: str, *, force: bool = False) -> None:
        """Delete a version of the user's own. Never a bundled model; the selected or the only
        version only with `force=True` (then the newest remaining version becomes selected)."""
        if version == BUNDLED:
            raise StoreError(f"{name}/{BUNDLED}: bundled models are read-only")
        available = self._version_names(name)
        if version not in available:
            raise StoreError(f"{name}/{version}: no such version (have: {', '.join(available) or 'none'})")
        if not force and len(available) == 1:
            raise StoreError(f"{name}/{version}: the only version of {name}; deleting it deletes the model "
                             f"(use force to confirm)")
        was_selected = self.selected(name) == version
        if not force and was_selected:
            raise StoreError(f"{name}/{version}: the selected version; select another first (or use force)")
        folder = self.root / name / version
        doomed = folder.with_name(f".{version}.deleting-{os.getpid()}")
        os.replace(folder, doomed)  # disappears at once, however long the removal takes
        shutil.rmtree(doomed, ignore_errors=True)
        # A tombstone keeps the number taken: a child's "parent" must never name a different model.
        with contextlib.suppress(OSError):
            (self.root / name / f".{version}{_TOMBSTONE}").touch()
        remaining = self._version_names(name)
        selected_file = self.root / name / SELECTED_FILE
        if not self._store_versions(name):
            with contextlib.suppress(OSError):
                selected_file.unlink()
        elif was_selected and remaining:
            self.select(name, remaining[-1])

    def export(self, name: str, version: str | None, dest_file: str | Path, *, overwrite: bool = False) -> Path:
        """Copy a version's checkpoint to `dest_file` (a folder gets `<name>-<version>.safetensors`).

        An existing file is replaced only with `overwrite=True` (else OutputExistsError).
        """
        info = self.version_info(name, version)
        dest = Path(dest_file).expanduser()
        if dest.is_dir():
            dest = dest / f"{info.name}-{info.version}{CHECKPOINT_SUFFIX}"
        if dest.exists() and not overwrite:
            raise OutputExistsError(f"{dest}: already exists; not overwritten")
        with atomic_path(dest) as tmp:
            shutil.copyfile(info.path, tmp)
        return dest

    def add_version(self, name: str, model: nn.Module, metadata: dict[str, Any] | None = None, *,
                    select: bool = True, half: bool = False) -> VersionInfo:
        """Save `model` as the next version of `name` (created if new); select it when `select`.

        With `select=False` the version selected before stays selected (it is written down, so
        the new version does not become "the newest, hence selected"); a brand-new name has only
        this version, which is then necessarily the one `load_model(name)` gives.
        The metadata's "name"/"version" are set here; put the base model in "parent" as
        "name/version" so that `rollback` finds it.
        """
        from ukan_core.io.checkpoints import save_checkpoint  # the only place the store needs torch

        check_model_name(name)
        previous = self.selected(name) if self._version_names(name) else None
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        self.clean_partials(name)
        number = self._highest_number(name)
        while True:
            number += 1
            version = f"v{number:04d}"
            partial = folder / f"{version}{PARTIAL_SUFFIX}"
            if (folder / version).exists():
                continue
            try:
                partial.mkdir()
            except FileExistsError:  # another process is saving this number
                continue
            break
        try:
            meta = dict(metadata or {})
            meta.update(name=name, version=version)
            save_checkpoint(model, partial / MODEL_FILE, meta, half=half)
            info = read_checkpoint_info(partial / MODEL_FILE)
            atomic_write_text(partial / METADATA_FILE, json.dumps(info, indent=2) + "\n")
            os.replace(partial, folder / version)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        if select:
            self.select(name, version)
        elif previous is not None:
            self.select(name, previous)
        return self.version_info(name, version)

    def clean_partials(self, name: str | None = None, *, max_age_s: float | None = None) -> int:
        """Remove `.partial` folders left by killed saves (older than `max_age_s`); return how many."""
        limit = self.stale_after_s if max_age_s is None else max_age_s
        folders = [self.root / name] if name else (list(self.root.iterdir()) if self.root.is_dir() else [])
        removed = 0
        now = time.time()
        for folder in folders:
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if not (entry.name.endswith(PARTIAL_SUFFIX) or ".deleting-" in entry.name):
                    continue
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime >= limit:
                        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                        removed += 1
        return removed

    # -- internals -----------------------------------------------------------------------------
    def _bundled_files(self) -> list[Path]:
        if not self.bundled_dir.is_dir():
            return []
        return sorted(p for p in self.bundled_dir.glob(f"*{CHECKPOINT_SUFFIX}")
                      if p.is_file() and _NAME.match(p.stem))

    def _bundled_file(self, name: str) -> Path | None:
        path = self.bundled_dir / f"{name}{CHECKPOINT_SUFFIX}"
        return path if _NAME.match(name or "") and path.is_file() else None

    def _store_versions(self, name: str) -> list[str]:
        folder = self.root / name
        if not _NAME.match(name or "") or not folder.is_dir():
            return []
        try:
            found = [p.name for p in folder.iterdir()
                     if _VERSION.match(p.name) and (p / MODEL_FILE).is_file()]
        except OSError:  # an unreadable folder hides only its own model
            return []
        return sorted(found, key=lambda v: int(v[1:]))

    def _highest_number(self, name: str) -> int:
        """The highest version number ever used for `name`, deleted ones included."""
        folder = self.root / name
        numbers = [0]
        for entry in folder.iterdir() if folder.is_dir() else []:
            match = _VERSION.match(entry.name.lstrip(".").split(".")[0])
            if match:
                numbers.append(int(match.group(1)))
        return max(numbers)

    def _version_names(self, name: str) -> list[str]:
        bundled = [BUNDLED] if self._bundled_file(name) else []
        return bundled + self._store_versions(name)

    def _versions(self, name: str) -> list[VersionInfo]:
        out = []
        bundled = self._bundled_file(name)
        if bundled:
            metadata, problem = _metadata(bundled, None)
            out.append(VersionInfo(name, BUNDLED, bundled, metadata, read_only=True, problem=problem))
        for version in self._store_versions(name):
            folder = self.root / name / version
            metadata, problem = _metadata(folder / MODEL_FILE, folder / METADATA_FILE)
            out.append(VersionInfo(name, version, folder / MODEL_FILE, metadata, problem=problem))
        if not out:
            raise StoreError(self._unknown(name))
        return out

    def _read_selected(self, name: str) -> str | None:
        try:
            data = load_json((self.root / name / SELECTED_FILE).read_bytes(), SELECTED_FILE, "content")
        except (OSError, CheckpointError):
            return None
        version = data.get("version") if isinstance(data, dict) else None
        return version if isinstance(version, str) else None

    def _unknown(self, name: str) -> str:
        known = self.names()
        return f"unknown model {name!r} (known: {', '.join(known) if known else 'none'})"


def check_model_name(name: str | None) -> str:
    """`name` when it is a valid model name, else a one-line StoreError (check before any work)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise StoreError(f"{name!r}: a model name starts with a letter or digit and uses letters, digits, "
                         f"'.', '_' and '-' (at most 80); choose another --name")
    return name


def valid_model_name(text: str) -> str:
    """A valid model name made from any text (a folder's or a file's name): other characters become '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:80] or "ukan-model"


def bundled_location(path: str | Path) -> tuple[str, str] | None:
    """(name, "bundled") when `path` is a bundled model file, else None."""
    path = Path(path)
    try:
        inside = path.resolve().parent == bundled_models_dir().resolve()
    except OSError:
        return None
    return (path.stem, BUNDLED) if inside and path.suffix == CHECKPOINT_SUFFIX else None


def _metadata(checkpoint: Path, sidecar: Path | None) -> tuple[dict[str, Any], str | None]:
    """Metadata from model.json when present and sound, else from the checkpoint header.

    model.json is only a copy of the header for listing without opening the checkpoint, so a
    damaged one (bad JSON, wrong types, absurd nesting) falls back to the header; the version is
    reported unreadable (the problem returned) only when the header is bad too.
    """
    if sidecar is not None:
        with contextlib.suppress(OSError, CheckpointError):
            data = load_json(sidecar.read_bytes(), sidecar.name, "content")
            return validate_metadata(data, sidecar.name), None
    try:
        return read_checkpoint_info(checkpoint), None
    except CheckpointError as exc:
        return {}, str(exc)


def _parse_parent(parent: Any, name: str) -> tuple[str | None, str | None]:
    """(model name, version or None) of a "parent" entry: "name/version", "version" or a dict."""
    if not parent:
        return None, None
    if isinstance(parent, dict):
        return parent.get("name") or name, parent.get("version")
    text = str(parent)
    if _VERSION.match(text) or text == BUNDLED:
        return name, text
    parent_name, _, version = text.partition("/")
    return parent_name, version or None
