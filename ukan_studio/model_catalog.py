"""The models the user can choose: every version in the model store (bundled ones included).

Torch-free (the store reads checkpoint headers only), so the selector fills while the window
starts. Model files the user adds by hand are offered too, for this session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the selector: what is shown and what is passed to the engine."""

    label: str
    ref: str                 # a path or "name/version", accepted by Segmenter.from_name_or_path and finetune
    name: str
    version: str | None = None
    selected: bool = False   # the store's selected version of `name`
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


def list_model_choices(architecture: str = "ukan") -> list[ModelChoice]:
    """Every stored version of `architecture` ("ukan" segments, "diffusion_ukan" generates), grouped by
    model, newest first; bundled versions are marked."""
    from ukan_core.lineage import lineage_display
    from ukan_core.store import ModelStore

    choices = []
    try:
        entries = ModelStore().list_models()
    except Exception as exc:  # a damaged store must not stop the window; the log says why
        log.warning("model store unreadable: %s", exc)
        return []
    for entry in entries:
        for version in reversed(entry.versions):
            if version.metadata.get("architecture", "ukan") != architecture:
                continue  # generators belong to the Generate panel, segmenters to the model picker
            if version.problem:
                log.warning("%s: %s", version.ref, version.problem)
                continue
            label = f"{lineage_display(entry.name)} · bundled" if version.read_only else \
                lineage_display(entry.name, version.version)
            choices.append(ModelChoice(label=label, ref=version.ref, name=entry.name,
                                       version=version.version, selected=version.selected,
                                       metadata=dict(version.metadata)))
    return choices


def file_choice(path: Path) -> ModelChoice:
    """A model file the user picked (kept for this session, remembered in the settings)."""
    metadata: dict[str, Any] = {}
    try:
        from ukan_core.io.checkpoints import read_checkpoint_info

        metadata = read_checkpoint_info(path)
    except Exception as exc:   # shown as "no details"; Segment reports a real problem
        log.debug("no header for %s: %s", path, exc)
    return ModelChoice(label=f"{path.stem} (file)", ref=str(path), name=str(metadata.get("name") or path.stem),
                       metadata=metadata)


def default_model_ref(choices: list[ModelChoice]) -> str:
    """The store-selected version of the bundled default model, else the first choice, else ""."""
    from ukan_core.model_refs import DEFAULT_MODEL

    for choice in choices:
        if choice.name == DEFAULT_MODEL and choice.selected:
            return choice.ref
    return choices[0].ref if choices else ""
