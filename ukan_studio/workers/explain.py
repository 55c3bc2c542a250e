"""Explain one image with a U-KAN, off the GUI thread: a thin shell around `ukan_core.explain.explain_image`.

The worker loads the model, reads the image and the reference, calls the core with its progress
and cancel token, and hands the panel the core's `Explanation` (plain numpy: token-resolution
maps, the reference, rankings and spline functions). The panel draws any map from it with the
core's numpy upsampling, the same pixels the rankings were scored on. Importing this module never
imports torch; run() does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path


from ukan_core.errors import UkanError
from ukan_core.explain.analysis import Explanation
from ukan_core.explain.plausibility import REFERENCES
from ukan_core.progress import Progress
from ukan_studio.job_data import ExplainRequest
from ukan_studio.workers.base import Worker, limit_torch_threads

__all__ = ["ExplainRequest", "ExplainWorker"]

REFERENCE_KINDS = REFERENCES
SPLINE_EDGES = 8           # learned functions shown per KAN layer


class ExplainWorker(Worker):
    """Captures every tokenized-KAN layer for one image and ranks each layer's channels by PIoU."""

    name = "Explain"

    def __init__(self, request: ExplainRequest) -> None:
        super().__init__()
        if request.reference_kind is not None and request.reference_kind not in REFERENCE_KINDS:
            raise ValueError(f"reference kind {request.reference_kind!r}: use one of {', '.join(REFERENCE_KINDS)}")
        self.request = request

    def run(self) -> Explanation:
        limit_torch_threads()
        from ukan_core.device import pick_device
        from ukan_core.explain import explain_image, read_reference
        from ukan_core.model_refs import load_model_with_info
        from ukan_core.io.images import read_image, to_rgb8
        from ukan_studio.workers.segment import model_label

        req = self.request
        image_name = req.name or Path(req.image).name
        self.report(Progress(0, 3, "loading the model"))
        model, info = load_model_with_info(req.model, pick_device(req.device))
        rgb8 = to_rgb8(read_image(req.image, frame=req.frame))
        reference = req.reference
        if isinstance(reference, (str, Path)):
            reference = read_reference(reference, rgb8.shape[:2], image_name)
        kind = req.reference_kind or "ground_truth"
        given = {kind: reference} if reference is not None else {}
        self.cancel_token.raise_if_cancelled()
        self.report(Progress(1, 3, f"capturing activations of {image_name}"))
        try:
            explanation = explain_image(model, rgb8, preprocessing=info.get("preprocessing"),
                                        threshold=float(req.threshold), spline_edges=SPLINE_EDGES,
                                        progress=self.report, cancel=self.cancel_token, **given)
        except ValueError as exc:
            raise UkanError(f"{image_name}: {exc}") from None
        return replace(explanation, image_name=image_name, model_label=model_label(req.model, info))
