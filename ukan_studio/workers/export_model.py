"""Export a stored model version (safetensors or ONNX, with its model card) off the GUI thread.

Loading the checkpoint and tracing the ONNX graph take from a fraction of a second to several
seconds, so the Model panel's Export button runs `ukan_core.model_export.export_model` here.
"""

from __future__ import annotations

from pathlib import Path

from ukan_studio.workers.base import Worker, limit_torch_threads


class ExportModelWorker(Worker):
    """Returns the core's ExportResult (the model file, its card and the format)."""

    name = "Export model"

    def __init__(self, name: str, version: str, dest: str | Path, fmt: str | None, *, overwrite: bool) -> None:
        super().__init__()
        self._name, self._version, self._dest, self._fmt = name, version, Path(dest), fmt
        self._overwrite = overwrite

    def run(self) -> object:
        limit_torch_threads()
        from ukan_core.model_export import export_model
        from ukan_core.store import ModelStore

        self.cancel_token.raise_if_cancelled()
        return export_model(ModelStore(), self._name, self._version, self._dest, fmt=self._fmt,
                            overwrite=self._overwrite)
