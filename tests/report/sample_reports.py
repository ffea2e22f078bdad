"""Reports built by hand for the renderer tests: findings with and without layers and source
lines, a probe profile shaped like a deep sigmoid net's, and a model that failed to load."""
from __future__ import annotations

from pathlib import Path

from gradlint.analysis.facts import LayerProbe, ProbeResult
from gradlint.findings import Category, Finding, Location, Severity
from gradlint.report.results import ModelError, ModelReport, Report

DEPTH = 12


def sigmoid_like_probe(depth: int = DEPTH) -> ProbeResult:
    """Each layer passes back a quarter of the gradient, as sigmoid' <= 1/4 does."""
    layers = tuple(
        LayerProbe(node=f"fc{i}", grad_norm=0.25 ** (depth - 1 - i), sigma_max=0.25, dead_fraction=0.0)
        for i in range(depth)
    )
    return ProbeResult(device="cpu", seed=0, batch_size=8, layers=layers, end_to_end_sigma_max=0.25**depth)


def finding(code: str, node: str | None, severity: Severity, location: Location | None,
            message: str = "gain 1e-7 over 12 layers", fix: str = "use He init") -> Finding:
    return Finding(code, "some-rule", Category.TOOL, severity, node, message, fix,
                   evidence={"gain": 1e-7}, location=location)


def sample_report(root: Path) -> Report:
    """Files are created under `root` so that the renderers can tell paths from factories."""
    onnx_file = root / "models" / "deep net.onnx"
    source = root / "models.py"
    onnx_file.parent.mkdir(parents=True, exist_ok=True)
    onnx_file.write_bytes(b"\x08\x07")
    source.write_text("import torch\n")
    onnx_path, source_path = str(onnx_file.relative_to(root)), str(source.relative_to(root))
    return Report(
        models=(
            ModelReport(
                onnx_path, "onnx",
                (finding("GL901", "fc3", Severity.ERROR, Location(onnx_path)),
                 finding("GL903", None, Severity.INFO, None)),
                probe=sigmoid_like_probe(),
            ),
            ModelReport(
                f"{source_path}:build", "python",
                (finding("GL902", "encoder.0", Severity.WARNING, Location(source_path, 12)),),
            ),
            ModelReport("broken.onnx", None, error=ModelError("load", "not an ONNX model")),
        )
    )
