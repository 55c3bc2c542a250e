"""Fine-tune the selected model on the corrected images, without freezing the window.

The engine (`ukan_core.training.finetune.finetune`) trains a copy, scores base and copy on
held-out corrections and adds a store version only when it finishes; the engine also decides
whether that version is selected (only if it improved: `should_select`), and the window follows
`report.selected`. A cancel or a failure writes nothing, so the previous model stays selected. It runs in a child process
(see training_process.py); this worker's thread only relays its messages.
"""

from __future__ import annotations

from typing import Any

from ukan_core.annotation import CorrectedItem
from ukan_core.errors import Cancelled, UkanError
from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker

POLL_S = 0.1


class RetrainWorker(Worker):
    """Runs finetune(base, corrected pairs, ...) and returns its FinetuneReport.

    `lineage` is the store name the new version goes into (the folder's `project_lineage`).
    `items` is a snapshot of the session's corrected images taken on the GUI thread (so the
    per-user store of a read-only folder is honoured too). Progress reports carry the loss and
    held-out IoU in `extra` for the live plot.
    """

    name = "Retrain"

    def __init__(self, base: str, items: list[CorrectedItem], *, device: str = "auto",
                 budget_s: float | None = None, recipe: Any = None, lineage: str | None = None) -> None:
        super().__init__()
        self._base, self._items, self._device = base, list(items), device
        self._budget_s, self._recipe, self._lineage = budget_s, recipe, lineage

    def run(self) -> Any:
        from ukan_core.data.folders import Pair
        from ukan_studio.workers.training_process import TrainingProcess

        self.report(Progress(0, 1, f"starting the trainer for {len(self._items)} corrected images"))
        pairs = [Pair(image=item.image, masks=(item.mask,), id=item.id, frame=item.frame) for item in self._items]
        options: dict[str, Any] = {"budget_s": self._budget_s, "device": self._device or "auto"}
        if self._recipe is not None:
            options["recipe"] = self._recipe
        if self._lineage:
            options["name"] = self._lineage   # the folder's own lineage: the base is recorded as its parent
        process = TrainingProcess(self._base, pairs, options)
        try:
            while True:
                if self.cancel_token.cancelled:
                    process.cancel()
                message = process.poll(POLL_S)
                if message is None:
                    continue
                kind, payload = message
                if kind == "progress":
                    self.report(payload)
                elif kind == "done":
                    return payload
                elif kind == "cancelled":
                    raise Cancelled("cancelled")
                else:
                    raise UkanError(str(payload))
        finally:
            process.cancel()   # no-op when it finished; stops it when this thread is asked to quit
            process.close()
