"""gradlint's differentiable ONNX->torch executor.

`build_runnable(model, layers)` compiles an ONNX model against the op table in `ops/` and
returns an `OnnxRunnable` (gradlint.model.Runnable): forward passes in torch, on any device,
in float32 or float64, with gradients flowing to the inputs and to the float initializers.
When the model uses ops gradlint lacks (anywhere, subgraphs included) it returns no runnable
and one 'unsupported-op' Diagnostic per such node, never an exception.

Unnamed nodes are named `f"{op_type}_{index}"` (index in their graph's node list); inside a
subgraph the name is prefixed by `f"{parent node}/{attribute}/"`.
"""
from __future__ import annotations

from collections import ChainMap
from typing import Callable, Hashable, Iterator, Mapping, Sequence

import onnx
import onnx.inliner
import torch

from gradlint.errors import UsageError
from gradlint.loaders.onnx.interpreter import RunState, run_nodes
from gradlint.loaders.onnx.layer_signature import layer_signature
from gradlint.loaders.onnx.layer_taps import LayerPlan, LayerSnapshot, plan_layers, snapshot
from gradlint.loaders.onnx.ops.registry import NORM_MODES
from gradlint.loaders.onnx.program import Compiler, Program, constant_values, reads
from gradlint.model import Diagnostic, Layer, Tap


def build_runnable(
    model: onnx.ModelProto, layers: Sequence[Layer] = ()
) -> tuple["OnnxRunnable | None", tuple[Diagnostic, ...]]:
    """Compile `model`; (None, diagnostics) when any node's op is unsupported."""
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    opsets = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    compiler = Compiler(opsets)
    program = compiler.compile(model.graph)
    if compiler.diagnostics:
        return None, tuple(compiler.diagnostics)
    return OnnxRunnable(program, layers), ()


class OnnxRunnable:
    """A compiled ONNX model as a gradlint Runnable."""

    def __init__(self, program: Program, layers: Sequence[Layer] = ()) -> None:
        self._program = program
        self._plans: dict[str, LayerPlan] = plan_layers(program, layers)
        self._by_output: dict[str, list[LayerPlan]] = {}
        for plan in self._plans.values():
            self._by_output.setdefault(plan.output, []).append(plan)
        self._constants = constant_values(program)
        self._snapshots: dict[str, LayerSnapshot] = {}
        self._norm_mode = "batch"
        self._float_dtype = torch.float32
        self._device = torch.device("cpu")

    @property
    def graph_inputs(self) -> tuple[str, ...]:
        """Inputs the caller provides (initializers listed among the inputs excluded)."""
        return tuple(n for n in self._program.inputs if n not in self._program.initializers)

    @property
    def graph_outputs(self) -> tuple[str, ...]:
        return self._program.outputs

    @property
    def norm_mode(self) -> str:
        return self._norm_mode

    @property
    def float_dtype(self) -> torch.dtype:
        return self._float_dtype

    @property
    def device(self) -> torch.device:
        return self._device

    def forward(
        self, inputs: Mapping[str, torch.Tensor], tap: Tap | None = None
    ) -> dict[str, torch.Tensor]:
        env: dict[str, torch.Tensor] = dict(self._program.initializers)
        for name in self._program.inputs:
            if name in inputs:
                env[name] = self._prepare(inputs[name])
            elif name not in env:
                raise UsageError(f"ONNX model input {name!r} was not given")
        if self._fewer_samples(env):  # batch-sized constants broadcast from one slice
            for name in self._program.batch_constants:
                env[name] = env[name][:1]
        hook = self._tap_hook(tap)
        state = self._state(hook)
        for name in self.graph_inputs:
            if hook is not None and name in state.watched:
                env[name] = hook(name, env[name], env)
        run_nodes(self._program.nodes, env, state)
        return {name: env[name] for name in self._program.outputs}

    def _fewer_samples(self, env: Mapping[str, torch.Tensor]) -> bool:
        """A run of a static-batch model on fewer samples than it declares (batch_reshapes.py)."""
        batch = self._program.static_batch
        fed = [env[name] for name in self.graph_inputs if isinstance(env.get(name), torch.Tensor)]
        return batch is not None and any(t.dim() and t.shape[0] < batch for t in fed)

    def __call__(
        self, inputs: Mapping[str, torch.Tensor], tap: Tap | None = None
    ) -> dict[str, torch.Tensor]:
        return self.forward(inputs, tap)

    def layer_function(self, layer: str) -> Callable[..., torch.Tensor]:
        """The layer alone, as a pure function of the tensors its tap last received."""
        if layer not in self._plans:
            raise UsageError(f"no layer named {layer!r} in this ONNX model")
        plan = self._plans[layer]

        def evaluate(*tensors: torch.Tensor) -> torch.Tensor:
            last = self._snapshots.get(layer)
            if last is None:
                raise UsageError(f"layer {layer!r} has not run yet: call forward first")
            if len(tensors) != len(last.input_names):
                raise UsageError(
                    f"layer {layer!r} takes {len(last.input_names)} tensors, got {len(tensors)}"
                )
            frozen = {name: self._prepare(value) for name, value in last.frozen_like(tensors).items()}
            env = ChainMap(dict(zip(last.input_names, tensors)), frozen, self._initializers())
            run_nodes(plan.nodes, env, self._state(None))
            return env[plan.output]

        return evaluate

    def layer_signature(self, layer: str) -> Hashable | None:
        """Equal for layers that compute the same function up to their weights' values
        (see layer_signature.py); None before the layer has run, or for control flow."""
        plan, last = self._plans.get(layer), self._snapshots.get(layer)
        if plan is None or last is None:
            return None
        return layer_signature(plan, last, self._initializers())

    def layer_input_names(self, layer: str) -> tuple[str, ...]:
        """Names of the tensors the layer's tap received in the most recent forward."""
        last = self._snapshots.get(layer)
        return last.input_names if last is not None else ()

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "OnnxRunnable":
        """Move every tensor to `device`; `dtype` (a float dtype) recasts float tensors."""
        self._device = torch.device(device)
        if dtype is not None:
            if not dtype.is_floating_point:
                raise UsageError(f"compute dtype must be a float type, not {dtype}")
            self._float_dtype = dtype
        for program in self._program.walk_programs():
            for name, tensor in program.initializers.items():
                moved = self._prepare(tensor).detach()
                program.initializers[name] = moved.requires_grad_(tensor.requires_grad)
            for node in program.nodes:
                for key, value in node.attrs.items():
                    node.attrs[key] = self._move_attribute(value)
        return self

    def set_norm_mode(self, mode: str) -> None:
        if mode not in NORM_MODES:
            raise UsageError(f"norm mode must be one of {', '.join(NORM_MODES)}, not {mode!r}")
        self._norm_mode = mode

    def named_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Float initializers of the main graph and of subgraphs, as leaf tensors.

        Exponents of Pow are left out: exporters store the 2.0 of a decomposed norm or the 3.0
        of tanh-GELU as initializers, nobody trains them, and d(x^p)/dp = x^p log x is NaN
        wherever x < 0, which a probe would read as a numerics failure. So are initializers
        no node reads (the scalars of a GELU that `fuse_gelu` runs as one op): they get no
        gradient.
        """
        for program in self._program.walk_programs():
            exponents = {node.inputs[1] for node in program.nodes if node.op_type == "Pow" and len(node.inputs) > 1}
            read = set().union(*(reads(node) for node in program.nodes))
            for name, tensor in program.initializers.items():
                if tensor.is_floating_point() and name not in exponents and name in read:
                    yield name, tensor

    def _prepare(self, value: torch.Tensor) -> torch.Tensor:
        tensor = torch.as_tensor(value)
        if tensor.is_floating_point():
            return tensor.to(device=self._device, dtype=self._float_dtype)
        return tensor.to(device=self._device)

    def _move_attribute(self, value: object) -> object:
        if isinstance(value, torch.Tensor):
            return self._prepare(value)
        if isinstance(value, list) and value and isinstance(value[0], torch.Tensor):
            return [self._prepare(v) for v in value]
        return value

    def _initializers(self) -> ChainMap:
        return ChainMap(*(p.initializers for p in self._program.walk_programs()))

    def _state(self, hook: Callable | None) -> RunState:
        watched = frozenset(self._by_output) if hook is not None else frozenset()
        return RunState(self._norm_mode, self._float_dtype, self._device, watched, hook)

    def _tap_hook(self, tap: Tap | None) -> Callable | None:
        if not self._by_output:
            return None

        def on_value(name: str, value: torch.Tensor, env: Mapping[str, torch.Tensor]):
            for plan in self._by_output[name]:
                self._snapshots[plan.name] = snapshot(plan, env, self._constants, value)
                if tap is not None:
                    inputs = [env[n] for n in self._snapshots[plan.name].input_names]
                    value = tap(plan.name, inputs, value)
            return value

        return on_value
