"""What Retrain takes from a folder's annotations: an image the user corrected and its saved mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ukan_core.annotation.keys import display_name


@dataclass(frozen=True)
class CorrectedItem:
    """One image the user corrected, with the saved mask that goes with it.

    Shaped like `ukan_core.data.folders.Pair` (image, mask, id), so training code takes either.
    """

    image: Path
    mask: Path
    name: str

    @property
    def id(self) -> str:
        """Unique within the folder (the file name: `scan.png` and `scan.jpg` are two images)."""
        return display_name(self.name)
