"""The 8 third-party ONNX models of ../shared/models through the real CLI, probes on.

Each must load, pass parity with onnxruntime (no GL902), run (no GL901/GL907) and get a JSON
report with a probe section. Skipped with a message when ../shared/models is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models"
EXTRA_ARGS = {
    "lstm__silero_vad_v5.onnx": ["--input-shape", "input=1x512", "--input-shape", "state=2x1x128",
                                 "--input-value", "sr=16000"],
}
MODELS = sorted(path.name for path in SHARED.glob("*.onnx")) if SHARED.is_dir() else []


@pytest.mark.skipif(not MODELS, reason=f"{SHARED} is absent: the shared real models are not here")
@pytest.mark.parametrize("name", MODELS)
def test_real_model_gets_a_report_with_parity_and_probe(name: str) -> None:
    # batch 2 keeps SqueezeNet (227x227) cheap; fixed-batch models keep their own batch
    args = ["check", str(SHARED / name), "--format", "json", "--batch-size", "2", *EXTRA_ARGS.get(name, [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    (model,) = json.loads(result.stdout)["models"]
    assert model["error"] is None
    codes = {finding["code"] for finding in model["findings"]}
    assert not codes & {"GL901", "GL902", "GL905", "GL907", "GL908"}, codes
    assert model["probe"] is not None and model["probe"]["layers"]
