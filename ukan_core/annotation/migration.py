"""From the first index format (masks named by image stem) to mask keys (name + frame).

Format 1 saved `scan.png`, `scan.jpg` and `scan.tif` all as `masks/scan.png`. A stem file that
only one recorded image can own is given to that image; one that several recorded images share
is ambiguous (its pixels are whichever was saved last), so it is kept aside in `unassigned/`,
those images go back to "unlabelled", and the store says so in its notes. Nothing is guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ukan_core.annotation.keys import display_name
from ukan_core.annotation.statuses import UNLABELLED

UNASSIGNED_FOLDER = "unassigned"


@dataclass
class MigrationPlan:
    """Which old mask file belongs to which image, and which old files no image can claim."""

    owners: dict[str, Path] = field(default_factory=dict)           # image name -> old mask file
    ambiguous: dict[Path, list[str]] = field(default_factory=dict)  # old mask file -> the images sharing it

    def notes(self) -> list[str]:
        """One line per ambiguous file, for the window and the log."""
        return [f"{', '.join(display_name(n) for n in names)}: shared one mask file in the old format; it is kept as "
                f"{UNASSIGNED_FOLDER}/{path.name} and the images are unlabelled again - check them"
                for path, names in self.ambiguous.items()]


def plan_migration(records: dict[str, dict[str, Any]], masks_folder: Path) -> MigrationPlan:
    """Plan the move of format-1 stem-named masks under `masks_folder` to per-image keys."""
    by_file: dict[Path, list[str]] = defaultdict(list)
    for name in records:
        by_file[masks_folder / f"{Path(name).stem}.png"].append(name)
    plan = MigrationPlan()
    for path, names in by_file.items():
        if not path.is_file():
            continue
        if len(names) == 1:
            plan.owners[names[0]] = path
        else:
            plan.ambiguous[path] = sorted(names)
    return plan


def unlabel_ambiguous(records: dict[str, dict[str, Any]], plan: MigrationPlan, now: str) -> None:
    """Put the images of ambiguous files back to "unlabelled" (in memory), noting where the file went."""
    for path, names in plan.ambiguous.items():
        for name in names:
            records[name] = {"status": UNLABELLED, "updated": now,
                             "note": f"old shared mask kept as {UNASSIGNED_FOLDER}/{path.name}"}
