"""The Model panel says when a model segments at its own chosen threshold."""

from __future__ import annotations


def test_the_model_panel_names_a_chosen_threshold() -> None:
    from ukan_studio.model_catalog import ModelChoice
    from ukan_studio.panels.models import describe_model

    tuned = ModelChoice("mri v1", "mri/v0001", "mri", "v0001", metadata={"threshold": 0.6, "input_size": [256, 256]})
    plain = ModelChoice("bundled", "b", "b", metadata={"threshold": 0.5})
    assert "threshold 0.60" in describe_model(tuned)
    assert "threshold" not in describe_model(plain)
