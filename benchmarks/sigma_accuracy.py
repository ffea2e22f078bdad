"""How close gradlint's sigma_max is to an exact SVD of the explicit Jacobian. Not a test.

    python benchmarks/sigma_accuracy.py

1. Layers of realistic width (768-wide GELU MLP block, 16-channel conv, 64-wide attention,
   64-wide LSTM; batch 8): gradlint's estimate over the whole batch (layer_samples=None, the
   max over samples), its products, and the exact value; beside it plain power iteration
   (Rayleigh quotient, same relative-change stop at 1e-3, cap 500) to show why the estimate is
   read from the Krylov space (Lanczos) rather than the last iterate; last, the default
   (first sample only) against that sample's exact value, and how far the first sample's
   exact value is below the batch maximum.
2. End to end through the ONNX executor: the small blocks of the accuracy tests exported to
   ONNX, probed from the file over the whole batch, against the exact SVD of the PyTorch
   module's Jacobian.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "analysis" / "probe"))
from small_models import Attention, Recurrent, mlp  # noqa: E402

from gradlint.analysis.probe import ProbeSettings, run_probes  # noqa: E402
from gradlint.analysis.probe.blocks import Blocks  # noqa: E402
from gradlint.analysis.probe.jacobian import GraphJacobian, gram  # noqa: E402
from gradlint.analysis.probe_inputs import make_probe_inputs  # noqa: E402
from gradlint.loaders.torch.module_runnable import ModuleRunnable, hook_layer_graph  # noqa: E402
from gradlint.model import InputSpec, LoadedModel  # noqa: E402
from gradlint.options import AnalysisOptions  # noqa: E402


class First(nn.Module):
    """A module returning its first output (attention, LSTM) so it is one function."""

    def __init__(self, inner: nn.Module, self_attention: bool = False) -> None:
        super().__init__()
        self.inner, self.self_attention = inner, self_attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x, x, x)[0] if self.self_attention else self.inner(x)[0]


def blocks() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    torch.manual_seed(0)
    return {
        "mlp 768 (1.2M params)": (nn.Sequential(nn.Linear(768, 768), nn.GELU(), nn.Linear(768, 768)), (8, 768)),
        "conv 16ch 3x3 on 16x16": (nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()), (8, 16, 16, 16)),
        "attention 64 (4 heads, 16 tokens)": (First(nn.MultiheadAttention(64, 4, batch_first=True), True), (8, 16, 64)),
        "lstm 64 (16 steps)": (First(nn.LSTM(64, 64, batch_first=True)), (8, 16, 64)),
    }


def per_sample_exact(module: nn.Module, x: torch.Tensor) -> list[float]:
    """The exact sigma_max of each sample's Jacobian."""
    values = []
    for sample in x.split(1):
        jac = torch.autograd.functional.jacobian(module, sample.double(), vectorize=True)
        values.append(float(torch.linalg.matrix_norm(jac.reshape(sample.numel(), sample.numel()), ord=2)))
    return values


def power_iteration(module: nn.Module, x: torch.Tensor, tolerance: float = 1e-3, cap: int = 500) -> tuple[float, int]:
    """Plain power iteration on JᵀJ per sample; stops when the max estimate changes < tolerance."""
    operator = GraphJacobian.of_function(module, (x,))
    blocks = Blocks.along((x,), [0])
    v = (torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype),)
    previous = None
    for iteration in range(1, cap + 1):
        v = blocks.scale(v, 1.0 / blocks.norm(v))
        w = gram(operator)(v)
        sigma = float(blocks.dot(v, w).clamp_min(0).sqrt().max())
        if previous is not None and abs(sigma - previous) <= tolerance * sigma:
            return sigma, iteration
        previous, v = sigma, w
    return previous, cap


def layer_table() -> None:
    print(f"{'block':36s} {'exact':>10s} {'gradlint':>10s} {'rel.err':>8s} {'products':>8s} | "
          f"{'power it.':>10s} {'rel.err':>8s} {'products':>8s} | {'sample 0':>8s} {'rel.err':>8s} {'below max':>9s}")
    for name, (module, shape) in blocks().items():
        module = module.double()
        spec = InputSpec("x", shape, torch.float64)
        x = make_probe_inputs((spec,), AnalysisOptions().seed)["x"]  # what gradlint measures at
        exacts = per_sample_exact(module, x)
        exact = max(exacts)
        model = LoadedModel(name, "python", ModuleRunnable(module, ["x"], [""]), (spec,), hook_layer_graph(module, [x]))
        whole = run_probes(model, AnalysisOptions(), settings=ProbeSettings(end_to_end=False, layer_samples=None))
        first = run_probes(model, AnalysisOptions(), settings=ProbeSettings(end_to_end=False)).layer("")
        layer = whole.layer("")
        power, steps = power_iteration(module, x)
        print(f"{name:36s} {exact:10.6f} {layer.sigma_max:10.6f} {abs(layer.sigma_max - exact) / exact:8.1e} "
              f"{layer.sigma_iterations:8d} | {power:10.6f} {abs(power - exact) / exact:8.1e} {steps:8d} | "
              f"{first.sigma_max:8.4f} {abs(first.sigma_max - exacts[0]) / exacts[0]:8.1e} "
              f"{(exact - exacts[0]) / exact:9.1%}")


def onnx_table() -> None:
    from gradlint.loaders import load_model

    torch.manual_seed(0)
    cases = {"mlp": (mlp(), (4, 6)), "attention": (Attention(), (2, 4, 8)), "lstm": (Recurrent(), (2, 4, 5))}
    print(f"\n{'ONNX export':12s} {'exact':>10s} {'gradlint':>10s} {'rel.err':>8s} {'products':>8s}")
    with tempfile.TemporaryDirectory() as folder:
        for name, (module, shape) in cases.items():
            module.eval()
            path = Path(folder) / f"{name}.onnx"
            x = torch.randn(shape)
            torch.onnx.export(module, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y"])
            options = AnalysisOptions()
            model = load_model(str(path), options)
            result = run_probes(model, options, settings=ProbeSettings(end_to_end_samples=None))
            probe_x = make_probe_inputs(model.inputs, options.seed)["x"]
            jac = torch.autograd.functional.jacobian(lambda v: module.double()(v).reshape(-1), probe_x.double())
            exact = float(torch.linalg.matrix_norm(jac.reshape(-1, probe_x.numel()), ord=2))
            module.float()
            value = result.end_to_end_sigma_max
            print(f"{name:12s} {exact:10.6f} {value:10.6f} {abs(value - exact) / exact:8.1e} {result.end_to_end_iterations:8d}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    start = time.perf_counter()
    layer_table()
    onnx_table()
    print(f"\n({time.perf_counter() - start:.0f} s)")
