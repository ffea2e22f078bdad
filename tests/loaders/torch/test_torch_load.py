"""load_torch: the same model in every form gives the same layers and the same outputs."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.errors import ModelLoadError, UnsafeModelError
from gradlint.loaders.torch import load_torch
from gradlint.model import LoadedModel
from gradlint.options import AnalysisOptions, InputOverrides
from torch_models import SMALL_CNN

pytest.importorskip("gradlint.loaders.torch.module_runnable", reason="ModuleRunnable not built yet")

SHAPE = InputOverrides(shapes={"x": (2, 3, 8, 8)})
OPTIONS = AnalysisOptions(trust_pickle=True, inputs=SHAPE, batch_size=2)


@pytest.fixture(scope="module")
def forms(saved_forms: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedModel]:
    package = tmp_path_factory.mktemp("pkg")
    (package / "gl_cnn_models.py").write_text(SMALL_CNN.read_text())
    targets = {
        "file": f"{SMALL_CNN}:build",
        "module": "gl_cnn_models:build",
        "pt2": str(saved_forms["pt2"]),
        "torchscript": str(saved_forms["torchscript"]),
        "pickle": str(saved_forms["pickle"]),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(package))
        return {form: load_torch(target, OPTIONS) for form, target in targets.items()}


def test_formats_are_named(forms: dict[str, LoadedModel]) -> None:
    assert {form: model.format for form, model in forms.items()} == {
        "file": "python", "module": "python", "pt2": "pt2", "torchscript": "torchscript", "pickle": "pickle",
    }


def test_every_form_has_the_same_layer_graph(forms: dict[str, LoadedModel]) -> None:
    def layers(model: LoadedModel) -> list[tuple[str, str]]:
        return [(layer.name, layer.kind.value) for layer in model.graph.layers()]

    reference = layers(forms["file"])
    assert ("conv", "conv") in reference and ("+add", "add") in reference
    for form, model in forms.items():
        assert layers(model) == reference, form
        assert sorted(model.graph.graph.edges) == sorted(forms["file"].graph.graph.edges), form


def test_every_form_computes_the_same_function(forms: dict[str, LoadedModel]) -> None:
    outputs = {}
    for form, model in forms.items():
        assert [spec.shape for spec in model.inputs] == [(2, 3, 8, 8)], form
        model.runnable.set_norm_mode("batch")
        inputs = make_probe_inputs(model.inputs, seed=0)
        with torch.no_grad():
            outputs[form] = list(model.runnable.forward(inputs).values())
    for form, values in outputs.items():
        assert len(values) == len(outputs["file"]), form
        for value, expected in zip(values, outputs["file"]):
            assert torch.allclose(value, expected, atol=1e-5), form


def test_hooked_forms_tap_every_module_layer(forms: dict[str, LoadedModel]) -> None:
    for form in ("file", "module", "pt2", "pickle"):
        model = forms[form]
        seen: list[str] = []

        def tap(name: str, inputs, output: torch.Tensor) -> torch.Tensor:
            seen.append(name)
            return output

        model.runnable.forward(make_probe_inputs(model.inputs, seed=0), tap)
        assert seen == ["conv", "bn", "act", "conv2", "fc"], form


def test_torchscript_says_its_probes_are_limited(forms: dict[str, LoadedModel]) -> None:
    kinds = [d.kind for d in forms["torchscript"].diagnostics]
    assert kinds == ["probe-limited"]
    assert all(not model.diagnostics for form, model in forms.items() if form != "torchscript")


def _run_probes():
    probe = pytest.importorskip("gradlint.analysis.probe")
    if not hasattr(probe, "run_probes"):
        pytest.skip("run_probes not built yet")
    return probe.run_probes


PROBE_OPTIONS = AnalysisOptions(device="cpu", batch_size=2, inputs=SHAPE)


@pytest.fixture(scope="module")
def file_probe(forms: dict[str, LoadedModel]):
    return _run_probes()(forms["file"], PROBE_OPTIONS)


@pytest.mark.parametrize("form", ["module", "pt2", "pickle"])
def test_probes_agree_across_hooked_forms(forms: dict[str, LoadedModel], file_probe, form: str) -> None:
    reference = {p.node: p.grad_norm for p in file_probe.layers}
    assert set(reference) == {"conv", "bn", "act", "conv2", "fc"}
    result = _run_probes()(forms[form], PROBE_OPTIONS)
    measured = {p.node: p.grad_norm for p in result.layers}
    assert measured.keys() == reference.keys()
    for node, value in reference.items():
        assert measured[node] == pytest.approx(value, rel=1e-4), node
    assert result.end_to_end_sigma_max == pytest.approx(file_probe.end_to_end_sigma_max, rel=1e-4)


def test_torchscript_probe_agrees_end_to_end(forms: dict[str, LoadedModel], file_probe) -> None:
    result = _run_probes()(forms["torchscript"], PROBE_OPTIONS)
    assert not result.layers or all(p.grad_norm is None for p in result.layers)
    assert result.end_to_end_sigma_max == pytest.approx(file_probe.end_to_end_sigma_max, rel=1e-4)


def test_a_bare_module_needs_input_shapes() -> None:
    with pytest.raises(ModelLoadError, match="pass --input-shape x=DIMS"):
        load_torch(f"{SMALL_CNN}:build_module", AnalysisOptions())
    model = load_torch(f"{SMALL_CNN}:build_module", AnalysisOptions(inputs=SHAPE))
    assert [(s.name, s.shape, s.dtype) for s in model.inputs] == [("x", (2, 3, 8, 8), torch.float32)]


def test_factory_examples_take_the_probe_batch() -> None:
    model = load_torch(f"{SMALL_CNN}:build", AnalysisOptions(batch_size=5))
    assert model.inputs[0].shape == (5, 3, 8, 8)


def test_pickles_are_refused_by_default(saved_forms: dict[str, Path]) -> None:
    with pytest.raises(UnsafeModelError):
        load_torch(str(saved_forms["pickle"]), AnalysisOptions(inputs=SHAPE))
    with pytest.raises(ModelLoadError, match="factory"):
        load_torch(str(saved_forms["state_dict"]), AnalysisOptions(inputs=SHAPE))


def test_export_failure_falls_back_to_hooks(tmp_path: Path) -> None:
    path = tmp_path / "dynamic.py"
    path.write_text(
        "import torch\nfrom torch_models import DataDependent\n\n"
        "def build():\n    return DataDependent(), torch.randn(2, 4)\n"
    )
    model = load_torch(f"{path}:build", AnalysisOptions())
    fallback = [d for d in model.diagnostics if d.kind == "graph-fallback"]
    assert len(fallback) == 1 and "torch.export failed" in fallback[0].message
    assert "\n" not in fallback[0].message
    assert "fc" in model.graph
    assert model.runnable.forward(make_probe_inputs(model.inputs, 0))


def test_unknown_files_are_load_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    archive = tmp_path / "bundle.pt"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("bundle/config.json", "{}")
    for path in (text, archive):
        with pytest.raises(ModelLoadError, match="not a PyTorch model archive"):
            load_torch(str(path), AnalysisOptions())
    with pytest.raises(ModelLoadError, match="no such file"):
        load_torch(str(tmp_path / "missing.pt2"), AnalysisOptions())
