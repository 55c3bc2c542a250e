"""Run an exported .onnx model through ONNX Runtime behind the Segmenter's interface.

`OnnxSegmenter` inherits the torch Segmenter's preprocessing, batching, restore and threshold
path (`ukan_core.inference`) and replaces only the forward pass, so masks match the torch model.
The preprocessing and classes come from the file's `metadata_props` (`ukan_core.onnx_export`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.errors import UkanError
from ukan_core.inference import Segmenter
from ukan_core.io.names import display_name
from ukan_core.onnx_export import METADATA_PREFIX
from ukan_core.onnx_support import require_onnx
from ukan_core.preprocess import Preprocessing


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The "ukan." metadata of an exported model, JSON-decoded, without the prefix."""
    require_onnx("running an ONNX model")
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except OSError as exc:
        raise UkanError(f"{display_name(path)}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
        raise UkanError(f"{display_name(path)}: not a readable ONNX model ({type(exc).__name__}); "
                        "export one with `ukan models export NAME FILE.onnx`") from None
    facts = {}
    for entry in model.metadata_props:
        if entry.key.startswith(METADATA_PREFIX):
            try:
                facts[entry.key[len(METADATA_PREFIX):]] = json.loads(entry.value)
            except ValueError:
                raise UkanError(f"{display_name(path)}: metadata {entry.key!r} is not valid JSON") from None
    if "num_classes" not in facts or "preprocessing" not in facts:
        raise UkanError(f"{display_name(path)}: has no UKAN Studio metadata; export it with "
                        "`ukan models export NAME FILE.onnx`")
    return facts


class OnnxSegmenter(Segmenter):
    """A Segmenter whose network is an ONNX Runtime session on the CPU provider."""

    def __init__(self, path: str | Path, batch_size: int = 4, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        import torch

        self.path = Path(path)
        facts = read_onnx_metadata(self.path)
        info = dict(facts.get("checkpoint") or {})
        info.setdefault("class_names", facts.get("class_names"))
        self.info = info
        self.preprocessing = Preprocessing.from_dict(facts["preprocessing"])
        self.device = torch.device("cpu")
        self.batch_size = max(1, int(batch_size))
        self.num_classes = int(facts["num_classes"])
        self.input_channels = int(facts.get("input_channels", 3))
        self.threshold = float(facts.get("threshold", 0.5))
        self.model = None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads() or (os.cpu_count() or 1)
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise UkanError(f"{display_name(self.path)}: ONNX Runtime cannot load it ({first})") from None
        self._input = self._session.get_inputs()[0].name

    @classmethod
    def from_file(cls, path: str | Path, batch_size: int = 4) -> OnnxSegmenter:
        """An OnnxSegmenter for an exported .onnx file (one-line UkanError for a missing or bad file)."""
        path = Path(path)
        if not path.is_file():
            raise UkanError(f"{display_name(path)}: no such model file")
        return cls(path, batch_size=batch_size)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, channels, h, w) prepared inputs -> (N, C, h, w) float32 sigmoid probabilities."""
        logits = self._session.run(None, {self._input: np.ascontiguousarray(x, dtype=np.float32)})[0]
        with np.errstate(over="ignore"):   # exp of a very negative logit is inf, and 1 / inf is 0
            return (1.0 / (1.0 + np.exp(-logits.astype(np.float32)))).astype(np.float32)
