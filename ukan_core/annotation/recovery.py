"""What the masks themselves say: each mask PNG carries its record (`ukan-status` text chunk).

After a crash between a mask's rename and the index's, the mask is newer than the index; its
own record then wins. The same records decide a merge of two copies of a store (the per-user
copy of a read-only folder and the folder's own): the user's work beats a prediction, then the
newer `updated` time wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ukan_core.annotation import statuses
from ukan_core.annotation.keys import item_key, mask_file_name, split_item_key

STATUS_CHUNK = "ukan-status"


def chunk_text(name: str, record: dict[str, Any]) -> str:
    """The text stored inside the mask PNG of item `name` (its record, file name and frame)."""
    file_name, frame = split_item_key(name)
    chunk = dict(record, name=file_name, frame=frame)
    chunk.pop("mask", None)
    return json.dumps(chunk, sort_keys=True)   # ASCII (fits a PNG tEXt chunk), undecodable names as \\udcXX


def records_from_masks(masks_folder: Path, newer_than: float, known: set[str]) -> dict[str, dict[str, Any]]:
    """Records read from the masks under `masks_folder` that are newer than `newer_than` (the index's
    mtime) or whose file is not in `known`; each record names its mask file under "mask"."""
    from ukan_core.io.masks import read_mask_text

    found: dict[str, dict[str, Any]] = {}
    try:
        entries = [e for e in os.scandir(masks_folder) if e.name.endswith(".png") and not e.name.startswith(".")]
    except OSError:
        return found
    for entry in entries:
        try:
            if entry.name in known and entry.stat().st_mtime < newer_than:
                continue
            chunk = json.loads(read_mask_text(entry.path).get(STATUS_CHUNK) or "null")
        except (OSError, ValueError):
            continue
        name = chunk.pop("name", None) if isinstance(chunk, dict) else None
        frame = chunk.pop("frame", 0) if isinstance(chunk, dict) else 0
        if not isinstance(name, str) or not isinstance(frame, int) or frame < 0 \
                or mask_file_name(name, frame) != entry.name:
            continue   # an old mask without a record, or one copied in by hand under another key
        found[item_key(name, frame)] = dict(chunk, mask=entry.name)
    return found


def wins_over(theirs: dict[str, Any], ours: dict[str, Any] | None) -> bool:
    """True when record `theirs` should replace `ours` in a merge."""
    if ours is None:
        return True
    return _merge_key(theirs) > _merge_key(ours)


def _merge_key(record: dict[str, Any]) -> tuple[int, str]:
    return statuses.merge_rank(str(record.get("status", statuses.UNLABELLED))), str(record.get("updated", ""))
