"""What a gradlint run costs, as ratios to one plain PyTorch training step. Not a test.

    python benchmarks/probe_cost.py                 # everything
    python benchmarks/probe_cost.py --only whole    # whole / torch / depth / memory / naive

- whole: `gradlint` on the ONNX export of transformers ResNet-50 and GPT-2 small (random
  init, batch 8, GPT-2 at 16 tokens), in process (imports excluded), divided by one forward +
  backward step of the PyTorch model at the same batch; two exports each: static shapes
  (batch 8 baked in) and a symbolic batch axis. WeightWatcher's analyze() beside it when it
  is installed (pip install weightwatcher; not a gradlint dependency).
- torch: the probe alone on the same models as PyTorch modules (no executor, no parity).
- depth: seconds per layer of the probe on plain MLPs of depth 10, 100 and 1000.
- memory: peak resident memory of the probe vs one training step (separate processes).
- naive: sigma_max of a ~1M-parameter block by explicit Jacobian + SVD vs by gradlint.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import MODELS, BenchModel, mlp  # noqa: E402

from gradlint.analysis.probe import ProbeSettings, run_probes  # noqa: E402
from gradlint.analysis.probe_inputs import make_probe_inputs  # noqa: E402
from gradlint.loaders.torch.module_runnable import ModuleRunnable, default_layer_paths, hook_layer_graph  # noqa: E402
from gradlint.model import InputSpec, LoadedModel  # noqa: E402
from gradlint.options import AnalysisOptions  # noqa: E402


def training_step_seconds(module: nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """min over repeats of forward + cross-entropy + backward (weights' gradients included)."""
    module.train()
    times = []
    for _ in range(repeats + 1):
        module.zero_grad(set_to_none=True)
        start = time.perf_counter()
        logits = module(x)
        labels = torch.zeros(logits.shape[:-1], dtype=torch.long)
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)).backward()
        times.append(time.perf_counter() - start)
    module.zero_grad(set_to_none=True)
    return min(times[1:])


def torch_model(module: nn.Module, x: torch.Tensor, input_name: str) -> LoadedModel:
    spec = InputSpec(input_name, tuple(x.shape), x.dtype, 0, 50257)
    graph = hook_layer_graph(module, [x])
    runnable = ModuleRunnable(module, [input_name], default_layer_paths(module))
    return LoadedModel(input_name, "python", runnable, (spec,), graph)


def whole_run(bench: BenchModel, exports: list[str]) -> None:
    from gradlint.api import LintSettings, lint_target

    module, x = bench.build(), bench.example()
    step = training_step_seconds(module, x)
    print(f"{bench.name}: one training step (forward + backward, batch {x.shape[0]}) {step:.2f} s")
    watcher = weightwatcher_seconds(module)
    if watcher is not None:
        print(f"  WeightWatcher analyze() {watcher:.2f} s = {watcher / step:.2f} steps")
    for export in exports:
        path = bench.onnx(dynamic_batch=export == "dynamic")
        start = time.perf_counter()
        report = lint_target(str(path), LintSettings())
        seconds = time.perf_counter() - start
        codes = ", ".join(sorted({f.code for f in report.findings})) or "none"
        print(f"  gradlint whole run, {export}-batch ONNX export: {seconds:.2f} s = {seconds / step:.2f} steps"
              + ("" if watcher is None else f", {seconds / watcher:.2f}x WeightWatcher")
              + f"; findings: {codes}" + ("" if report.error is None else f" (error: {report.error})"))
        probe = report.probe
        if probe is not None:
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in dict(probe.extra.get("seconds", {})).items())
            print(f"    probe {probe.seconds:.2f} s ({parts}); load, parity and rules {seconds - probe.seconds:.2f} s; "
                  f"end-to-end on {probe.extra.get('end_to_end_samples')} sample(s), {probe.end_to_end_iterations} products")


def weightwatcher_seconds(module: nn.Module) -> float | None:
    try:
        import weightwatcher
    except ImportError:
        print("  (WeightWatcher not installed: pip install weightwatcher to compare)")
        return None
    start = time.perf_counter()
    weightwatcher.WeightWatcher(model=module.eval()).analyze()
    return time.perf_counter() - start


def probe_only(bench: BenchModel) -> None:
    module, x = bench.build(), bench.example()
    step = training_step_seconds(module, x)
    model = torch_model(module, x, bench.input_name)
    result = run_probes(model, AnalysisOptions())
    parts = ", ".join(f"{k} {v:.2f} s = {v / step:.2f}" for k, v in result.extra["seconds"].items())
    print(f"{bench.name} (PyTorch module): step {step:.2f} s | probe {result.seconds:.2f} s "
          f"= {result.seconds / step:.2f} steps ({parts}); {len(result.layers)} layers, "
          f"e2e iterations {result.end_to_end_iterations}")


def depth_scaling(depths: list[int]) -> None:
    for depth in depths:
        module = mlp(depth)
        x = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
        model = torch_model(module, x, "x")
        run_probes(model, AnalysisOptions())  # warm
        start = time.perf_counter()
        result = run_probes(model, AnalysisOptions())
        seconds = time.perf_counter() - start
        print(f"MLP depth {depth:4d}: probe {seconds:.2f} s, {1e3 * seconds / depth:.2f} ms per layer "
              f"(e2e iterations {result.end_to_end_iterations})")


def memory(bench: BenchModel) -> None:
    def child(kind: str) -> float:
        out = subprocess.run([sys.executable, __file__, "--memory-child", kind, bench.name],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])["peak_mib"]

    step, probe = child("step"), child("probe")
    print(f"{bench.name}: peak memory above the loaded model: step {step:.0f} MiB, probe {probe:.0f} MiB "
          f"= {probe / step:.2f}x")


def memory_child(kind: str, name: str) -> None:
    bench = MODELS[name]
    module, x = bench.build(), bench.example()
    model = torch_model(module, x, bench.input_name) if kind == "probe" else None
    before = _resident_mib()
    if kind == "step":
        training_step_seconds(module, x, repeats=1)
    else:
        run_probes(model, AnalysisOptions())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mib": peak - before}))


def _resident_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def naive(width: int = 768) -> None:
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))
    x = torch.randn(8, width)
    parameters = sum(p.numel() for p in block.parameters())
    spec = InputSpec("x", tuple(x.shape), x.dtype)
    model = LoadedModel("block", "python", ModuleRunnable(block, ["x"], [""]), (spec,), hook_layer_graph(block, [x]))
    settings = ProbeSettings(end_to_end=False, layer_samples=None)  # the max over the batch, as the SVD
    run_probes(model, AnalysisOptions(), settings=settings)
    result = run_probes(model, AnalysisOptions(), settings=settings)
    ours, sigma = result.extra["seconds"]["layer_sigma"], result.layer("").sigma_max
    probe_x = make_probe_inputs(model.inputs, AnalysisOptions().seed)["x"]  # what gradlint measured at
    start = time.perf_counter()
    jacobian = torch.autograd.functional.jacobian(block, probe_x, vectorize=True).reshape(x.numel(), x.numel())
    exact = float(torch.linalg.matrix_norm(jacobian, ord=2))
    seconds = time.perf_counter() - start
    print(f"naive explicit Jacobian + SVD on a {parameters / 1e6:.2f}M-parameter block ({x.numel()}x{x.numel()}): "
          f"{seconds:.2f} s; gradlint {ours:.3f} s: speed-up {seconds / ours:.0f}x "
          f"(sigma {sigma:.6f} vs exact {exact:.6f}, relative error {abs(sigma - exact) / exact:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["whole", "torch", "depth", "memory", "naive"])
    parser.add_argument("--models", default="resnet50,gpt2")
    parser.add_argument("--depths", default="10,100,1000")
    parser.add_argument("--exports", default="static,dynamic", help="ONNX exports to lint: static, dynamic")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-child", nargs=2, metavar=("KIND", "MODEL"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        return memory_child(*args.memory_child)
    models = [MODELS[name] for name in args.models.split(",")]
    print(f"torch {torch.__version__}, {args.threads} threads, {torch.get_num_threads()} in use")
    sections = {
        "whole": lambda: [whole_run(b, args.exports.split(",")) for b in models],
        "torch": lambda: [probe_only(b) for b in models],
        "depth": lambda: depth_scaling([int(d) for d in args.depths.split(",")]),
        "memory": lambda: [memory(b) for b in models],
        "naive": naive,
    }
    for name, run in sections.items():
        if args.only in (None, name):
            run()


if __name__ == "__main__":
    main()
