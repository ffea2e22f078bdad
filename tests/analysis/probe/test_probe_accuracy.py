"""sigma_max within 1% of an exact SVD of the explicit Jacobian, per layer and end to end."""
from __future__ import annotations

import pytest
import torch

from gradlint.analysis.probe import ProbeSettings, run_probes
from gradlint.analysis.probe.capture import forward_pass
from gradlint.analysis.probe.forward_stats import ActivationInfo
from gradlint.analysis.probe.layer_call import LayerCall
from gradlint.analysis.probe.runtime import probe_batch
from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.options import AnalysisOptions
from small_models import CASES, exact_end_to_end, exact_sigma, loaded

TOLERANCE = 0.01


@pytest.fixture(scope="module", params=sorted(CASES))
def measured(request):
    model = loaded(request.param)
    result = run_probes(model, AnalysisOptions(), settings=ProbeSettings(layer_samples=None, end_to_end_samples=None))
    return model, result


def test_every_layer_sigma_is_within_one_percent_of_the_svd(measured) -> None:
    model, result = measured
    x = make_probe_inputs(model.inputs, 0)["x"]
    probe = forward_pass(model.runnable, {"x": x}, ["x"], lambda name: ActivationInfo(None, False))
    checked = 0
    for layer in result.layers:
        assert layer.sigma_max is not None, layer.node
        call = LayerCall.of_record(model.runnable.layer_function(layer.node), probe.records[layer.node])
        exact = exact_sigma(call, call.primals)
        assert layer.sigma_max == pytest.approx(exact, rel=TOLERANCE), (layer.node, layer.sigma_method)
        assert layer.sigma_max <= exact * (1 + 1e-6)  # Krylov estimates approach from below
        assert layer.sigma_converged
        checked += 1
    assert checked >= 2


def test_end_to_end_sigma_is_within_one_percent_of_the_svd(measured) -> None:
    model, result = measured
    x = make_probe_inputs(model.inputs, 0)["x"]
    exact = exact_end_to_end(model, x)
    assert result.end_to_end_sigma_max == pytest.approx(exact, rel=TOLERANCE)
    assert result.end_to_end_converged and result.end_to_end_wrt == ("x",)


def test_default_solves_per_sample_layers_at_the_first_sample() -> None:
    model = loaded("lstm")
    result = run_probes(model, AnalysisOptions())
    x = make_probe_inputs(model.inputs, 0)["x"]
    probe = forward_pass(model.runnable, {"x": x}, ["x"], lambda name: ActivationInfo(None, False))
    call = LayerCall.of_record(model.runnable.layer_function("lstm"), probe.records["lstm"])
    first = call.narrowed({0: 1})
    assert result.layer("lstm").sigma_max == pytest.approx(exact_sigma(first, first.primals), rel=TOLERANCE)
    assert result.layer("lstm").extra["sigma_blocks"] == 1


def test_default_solves_the_end_to_end_of_independent_samples_at_the_first_sample() -> None:
    model = loaded("mlp")
    result = run_probes(model, AnalysisOptions())
    x = make_probe_inputs(model.inputs, 0)["x"]
    first = exact_end_to_end(model, x[:1])
    assert result.extra["end_to_end_samples"] == 1 and result.extra["end_to_end_blocks"] == "per-sample"
    assert result.end_to_end_sigma_max == pytest.approx(first, rel=TOLERANCE)
    assert result.end_to_end_sigma_max != pytest.approx(exact_end_to_end(model, x), rel=1e-6)


def test_coupled_samples_keep_the_whole_batch_for_the_end_to_end() -> None:
    result = run_probes(loaded("conv"), AnalysisOptions())  # batch-statistics normalization
    assert result.extra["end_to_end_samples"] == probe_batch(loaded("conv").inputs)
    assert result.extra["end_to_end_blocks"] == "batch"


def test_methods_follow_the_jacobian_structure() -> None:
    result = run_probes(loaded("conv"), AnalysisOptions())
    methods = {layer.node: layer.sigma_method for layer in result.layers}
    assert methods["block.0"] == "constant"  # a convolution: the same Jacobian for every sample
    assert methods["block.2"] == "diagonal"  # ReLU
    assert methods["block"] == "lanczos"  # conv + batch-statistics norm + ReLU couples samples
    assert result.extra["end_to_end_blocks"] == "batch"
    mlp = run_probes(loaded("mlp"), AnalysisOptions())
    assert mlp.extra["end_to_end_blocks"] == "per-sample"


def test_token_model_end_to_end_is_taken_at_the_embedding_output() -> None:
    from gradlint.loaders.torch.module_runnable import ModuleRunnable, default_layer_paths, hook_layer_graph
    from gradlint.model import InputSpec, LoadedModel

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Embedding(11, 4), torch.nn.Linear(4, 3)).double()
    ids = torch.randint(0, 11, (3, 5))
    graph = hook_layer_graph(module, [ids])
    model = LoadedModel("t", "python", ModuleRunnable(module, ["ids"], default_layer_paths(module)),
                        (InputSpec("ids", (3, 5), torch.int64, 0, 11),), graph)
    result = run_probes(model, AnalysisOptions())
    assert result.end_to_end_wrt == ("0",)
    assert result.end_to_end_sigma_max == pytest.approx(float(torch.linalg.matrix_norm(module[1].weight, ord=2)), rel=1e-3)
    assert result.layer("0").sigma_max is None  # ids have no derivative


class FusedAttention(torch.nn.Module):
    """Attention through F.scaled_dot_product_attention, whose fused kernels lack a double backward."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = torch.nn.Linear(8, 24)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).reshape(*x.shape[:2], 3, 2, 4).permute(2, 0, 3, 1, 4)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return out.transpose(1, 2).reshape(x.shape)


def test_fused_attention_kernels_still_give_end_to_end_sigma() -> None:
    from gradlint.loaders.torch.module_runnable import ModuleRunnable, hook_layer_graph
    from gradlint.model import InputSpec, LoadedModel

    torch.manual_seed(0)
    module = FusedAttention().double()
    spec = InputSpec("x", (2, 5, 8), torch.float64)
    model = LoadedModel("a", "python", ModuleRunnable(module, ["x"], ["qkv"]), (spec,),
                        hook_layer_graph(module, [torch.zeros(spec.shape, dtype=spec.dtype)]))
    result = run_probes(model, AnalysisOptions())
    assert not [d for d in result.diagnostics if d.kind == "probe-partial"]
    x = make_probe_inputs(model.inputs, 0)["x"]
    exact = exact_sigma(lambda value: module(value).reshape(-1), [x[:1]])  # samples are independent
    assert result.end_to_end_sigma_max == pytest.approx(exact, rel=TOLERANCE)
