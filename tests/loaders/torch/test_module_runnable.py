"""ModuleRunnable: taps at submodule paths, layer functions, outputs, semantics, hook graphs."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from gradlint.errors import UsageError
from gradlint.loaders.torch.module_runnable import (
    ModuleRunnable,
    default_layer_paths,
    hook_layer_graph,
    named_outputs,
)
from gradlint.model import LayerKind


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(0.5)
        self.lstm = nn.LSTM(4, 3, batch_first=True)
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.drop(self.act(self.bn(self.conv(x))))
        seq = h.mean(dim=(2,)).transpose(1, 2)  # [B, W, C]
        out, _ = self.lstm(seq)
        return self.head(out), h


def _runnable(**kwargs) -> tuple[Net, ModuleRunnable]:
    torch.manual_seed(0)
    net = Net()
    return net, ModuleRunnable(net, ["x"], ["conv", "bn", "act", "lstm", "head"], **kwargs)


def test_taps_in_execution_order_with_inputs_and_replacement() -> None:
    net, runnable = _runnable(output_names=["y", "features"])
    seen = []

    def tap(name, inputs, output):
        seen.append((name, [tuple(t.shape) for t in inputs], tuple(output.shape)))
        return output * 0 if name == "head" else output

    outputs = runnable.forward({"x": torch.randn(3, 2, 5, 5)}, tap)
    assert [name for name, _, _ in seen] == ["conv", "bn", "act", "lstm", "head"]
    assert seen[3][1] == [(3, 5, 4)] and seen[3][2] == (3, 5, 3)  # LSTM: its first output
    assert set(outputs) == {"y", "features"}
    assert torch.all(outputs["y"] == 0)  # the tap's replacement flowed downstream
    assert not net.conv._forward_hooks  # hooks only live during forward


def test_layer_function_reruns_the_submodule_alone() -> None:
    _, runnable = _runnable()
    captured = {}
    runnable.forward({"x": torch.randn(3, 2, 5, 5)}, lambda n, i, o: captured.setdefault(n, (i, o))[1])
    for name in ("conv", "lstm", "head"):
        inputs, output = captured[name]
        torch.testing.assert_close(runnable.layer_function(name)(*inputs), output)
    with pytest.raises(UsageError):
        runnable.layer_function("nope")


def test_batch_statistics_leave_buffers_and_flags_untouched() -> None:
    net, runnable = _runnable()
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(4, 2, 5, 5) * 3 + 1
    first = runnable.forward({"x": x})["0"]
    second = runnable.forward({"x": x})["0"]
    torch.testing.assert_close(first, second)  # dropout off, nothing accumulated
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert net.training and net.bn.training and net.act.inplace
    features = runnable.forward({"x": x})["1"]
    per_channel = features.mean(dim=(0, 2, 3))
    assert bool((features >= 0).all())
    # Batch statistics: the normalised channels are centred before ReLU whatever the running stats.
    net.bn.running_mean.fill_(100.0)
    torch.testing.assert_close(runnable.forward({"x": x})["1"].mean(dim=(0, 2, 3)), per_channel)


def test_running_mode_uses_stored_statistics() -> None:
    net, runnable = _runnable()
    runnable.set_norm_mode("running")
    x = torch.randn(4, 2, 5, 5)
    net.bn.running_mean.fill_(1e6)
    assert bool((runnable.forward({"x": x})["1"] == 0).all())  # everything shifted below zero
    with pytest.raises(UsageError):
        runnable.set_norm_mode("train")


def test_named_outputs_by_key_and_index() -> None:
    t = torch.ones(2)
    assert list(named_outputs(t)) == ["output"]
    assert list(named_outputs((t, (t, 3)))) == ["0", "1"]
    assert list(named_outputs({"logits": t, "ids": torch.ones(2, dtype=torch.long), "n": None})) == ["logits"]


def test_default_paths_and_hook_graph_kinds() -> None:
    net = Net()
    assert default_layer_paths(net) == ["conv", "bn", "act", "lstm", "head"]
    graph = hook_layer_graph(net, {"x": torch.randn(2, 2, 5, 5)})
    kinds = {layer.name: layer.kind for layer in graph.layers()}
    assert kinds == {"conv": LayerKind.CONV, "bn": LayerKind.NORM, "act": LayerKind.OTHER,
                     "lstm": LayerKind.RECURRENT, "head": LayerKind.LINEAR}
    conv = graph.layer("conv")
    assert conv.fan_in == 2 * 9 and conv.fan_out == 4 * 9
    assert conv.activation == "relu" and conv.normalization == "batchnorm"
    assert conv.weight.scaled_std == pytest.approx(conv.weight.std * 18 ** 0.5)
    assert graph.successors("conv") == ["bn"] and graph.successors("lstm") == ["head"]
    assert graph.layer("lstm").fan_in == 4


def test_to_moves_and_casts_the_module() -> None:
    net, runnable = _runnable()
    assert runnable.to(torch.device("cpu"), torch.float64) is runnable
    assert net.conv.weight.dtype == torch.float64
    names = [name for name, _ in runnable.named_parameters()]
    assert "conv.weight" in names and "head.bias" in names
