"""The uncertainty scores of a folder's images, kept beside its annotations so they survive reopen.

Layout: `<store location>/uncertainty.json` = `{"version": 1, "images": {"<item key>": {"score":
0..1, "model": ref}}, "warned": [model refs]}`. Each score is tagged with the model that produced
it: a score of another model than the one in use is stale (the list shows it greyed). `warned`
lists the models whose out-of-domain warning this folder has already shown, so it is said once.
Written atomically; an unreadable file reads as empty (scores are cheap to compute again).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ukan_core.atomic import atomic_write_text

SCORES_FILE = "uncertainty.json"
FORMAT_VERSION = 1


class UncertaintyScores:
    """Scores by item key, each with the model ref that produced it; `save()` writes them."""

    def __init__(self, location: Path | None) -> None:
        self.path = Path(location) / SCORES_FILE if location is not None else None
        self._images: dict[str, dict[str, Any]] = {}
        self._warned: list[str] = []
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return
        for key, record in (data.get("images") or {}).items():
            if isinstance(record, dict) and isinstance(record.get("score"), (int, float)):
                self._images[str(key)] = {"score": float(record["score"]), "model": str(record.get("model") or "")}
        self._warned = [str(m) for m in data.get("warned") or [] if isinstance(m, str)]

    def set(self, name: str, score: float, model: str) -> None:
        """Record `name`'s score under `model` (in memory; `save()` writes)."""
        self._images[name] = {"score": round(float(score), 6), "model": model}

    def score(self, name: str, model: str | None = None) -> float | None:
        """`name`'s score (only when it was produced by `model`, if given), else None."""
        record = self._images.get(name)
        if record is None or (model is not None and record["model"] != model):
            return None
        return float(record["score"])

    def model_of(self, name: str) -> str | None:
        record = self._images.get(name)
        return None if record is None else str(record["model"])

    def names(self) -> list[str]:
        return list(self._images)

    def was_warned(self, model: str) -> bool:
        return model in self._warned

    def mark_warned(self, model: str) -> None:
        if model not in self._warned:
            self._warned.append(model)

    def save(self) -> None:
        """Write the file atomically (nothing for a store without a location)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"version": FORMAT_VERSION, "images": self._images,
                                                 "warned": self._warned}, indent=1, sort_keys=True))
