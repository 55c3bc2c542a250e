"""Loading a checkpoint builds the model on the meta device without waking torch's Python kernels.

Random initialisation or tensor maths on the meta device runs torch's Python reference kernels,
whose first use imports torch._dynamo: seconds of work holding the GIL, which froze the window
for 100-400 ms at a time when a worker loaded a generator. Neither may happen on a load.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_loading_the_bundled_models_does_not_import_torch_dynamo() -> None:
    code = textwrap.dedent("""
        import sys
        from ukan_core.io.checkpoints import load_checkpoint
        from ukan_core.model_refs import resolve_model
        for name in ("ukan-synthetic-us", "ukan-synthetic-us-pairs"):
            model, _ = load_checkpoint(resolve_model(name))
            assert not any(t.is_meta for t in list(model.parameters()) + list(model.buffers())), name
        print("dynamo" if "torch._dynamo" in sys.modules else "clean")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean", "a meta-device build ran torch's Python kernels (torch._dynamo imported)"
