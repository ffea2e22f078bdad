"""Models the benchmarks build: transformers ResNet-50 and GPT-2 small at random init.

Each comes as a plain nn.Module returning one logits tensor, its example input at the probe
batch (8, gradlint's default; GPT-2 at 128 tokens, see GPT2_TOKENS), and an ONNX export cached
in the temp folder (gradlint-bench/). Nothing is downloaded: configs only.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from gradlint.options import DEFAULT_BATCH_SIZE

CACHE = Path(tempfile.gettempdir()) / "gradlint-bench"
# The reference step for GPT-2 small (6.9 s at batch 8 on this machine) is a 128-token
# step: 7.5 s here, against 1.3 s at 16 tokens. A training context is rarely shorter. The ONNX
# export bakes the length in, so gradlint probes the export at the same 128 tokens.
GPT2_TOKENS = 128


class Logits(nn.Module):
    """A transformers model reduced to `logits = model(x)`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).logits


@dataclass(frozen=True)
class BenchModel:
    name: str
    build: Callable[[], nn.Module]
    example: Callable[[], torch.Tensor]
    input_name: str

    def onnx(self, dynamic_batch: bool = False) -> Path:
        """The model exported once by torch's default (dynamo) exporter from eval mode, which
        folds ResNet's BatchNormalization into its convolutions (gradlint then reports GL104:
        as a file to train, it is a residual net without normalization).
        Static shapes bake the batch of 8 into reshapes; `dynamic_batch` leaves the batch
        axis symbolic, as deployment exports usually do, so gradlint can run a model on
        fewer samples than the probe batch."""
        CACHE.mkdir(exist_ok=True)
        kind = "dynbatch" if dynamic_batch else f"b{DEFAULT_BATCH_SIZE}"
        shape = "x".join(str(size) for size in self.example().shape[1:])
        path = CACHE / f"{self.name}_{kind}_{shape}_{torch.__version__.split('+')[0]}.onnx"
        if not path.exists():
            module = self.build().eval()
            options: dict[str, object] = {}
            if dynamic_batch:
                options["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1, max=1024)},)
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                program = torch.onnx.export(module, (self.example(),), dynamo=True,
                                            input_names=[self.input_name], output_names=["logits"], **options)
                program.save(str(path))
        return path


def _resnet50() -> nn.Module:
    from transformers import ResNetConfig, ResNetForImageClassification

    torch.manual_seed(0)
    return Logits(ResNetForImageClassification(ResNetConfig()))


def _gpt2() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return Logits(GPT2LMHeadModel(GPT2Config(use_cache=False)))


def _image() -> torch.Tensor:
    return torch.randn(DEFAULT_BATCH_SIZE, 3, 224, 224, generator=torch.Generator().manual_seed(1))


def _tokens() -> torch.Tensor:
    shape = (DEFAULT_BATCH_SIZE, GPT2_TOKENS)
    return torch.randint(0, 50257, shape, generator=torch.Generator().manual_seed(1))


MODELS = {
    "resnet50": BenchModel("resnet50", _resnet50, _image, "pixel_values"),
    "gpt2": BenchModel("gpt2", _gpt2, _tokens, "input_ids"),
}


def mlp(depth: int, width: int = 64) -> nn.Sequential:
    """A plain ReLU MLP at He init (signal neither vanishes nor explodes over 1000 layers)."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])
