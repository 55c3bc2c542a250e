"""Class names and colours of label masks, and their `classes.json` beside every export.

    {"1": {"name": "lesion", "color": "#e6194b"}, "2": {"name": "cyst", "color": "#3cb44b"}}

Label k (1..K) takes colour `PALETTE[(k - 1) % len(PALETTE)]`: a fixed palette of colours that stay
apart from each other and from grey anatomy, so a label has the same colour in every export and
in the window. Label 0 is the background and is not listed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ukan_core.atomic import atomic_write_text

CLASSES_FILE = "classes.json"
PALETTE = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
           "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
           "#808000", "#ffd8b1", "#000075", "#808080")


def label_color(label: int) -> str:
    """The `#rrggbb` colour of label `label` (1 or more)."""
    if label < 1:
        raise ValueError(f"label 0 is the background and has no colour; got {label}")
    return PALETTE[(label - 1) % len(PALETTE)]


def class_names_of(store_classes: Sequence[str]) -> list[str]:
    """The names of labels 1..K from an annotation store's classes (which start with the background)."""
    return [str(name) for name in list(store_classes)[1:]]


def classes_document(class_names: Sequence[str]) -> dict[str, dict[str, str]]:
    """`{"1": {"name": ..., "color": ...}, ...}` for the names of labels 1..K."""
    return {str(k): {"name": str(name), "color": label_color(k)} for k, name in enumerate(class_names, start=1)}


def write_classes_json(folder: str | Path, class_names: Sequence[str]) -> Path:
    """Write `<folder>/classes.json` for the names of labels 1..K, atomically; return its path."""
    text = json.dumps(classes_document(class_names), indent=1, ensure_ascii=False) + "\n"
    return atomic_write_text(Path(folder) / CLASSES_FILE, text)
