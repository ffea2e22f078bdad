"""The PyTorch loader: factories, torch.export archives, TorchScript archives, pickles.

`load_torch(target, options)` returns the same LoadedModel the ONNX loader does: a Runnable
that taps each layer through module hooks, InputSpecs and a LayerGraph whose layer names are
module paths (`encoder.layer.3.attention.self.query`) and whose locations are Python lines.

- `file.py:build` / `package.module:build`: the user's code is imported and called;
- `*.pt2`: torch.export.load, unflattened back into its module tree;
- TorchScript: torch.jit.load; scripted modules cannot be hooked, so probes see only the
  model's inputs and outputs (a `probe-limited` Diagnostic says so);
- `torch.save(model)` pickles: refused unless `options.trust_pickle` (UnsafeModelError).
"""
from __future__ import annotations

from pathlib import Path

from gradlint.errors import ModelLoadError
from gradlint.loaders.torch.archives import PICKLE, PT2, TORCHSCRIPT, archive_kind
from gradlint.loaders.torch.factory import call_factory, parse_factory_target
from gradlint.model import LoadedModel
from gradlint.options import AnalysisOptions


def load_torch(target: str, options: AnalysisOptions) -> LoadedModel:
    from gradlint.loaders.torch import model_assembly as assemble

    factory = parse_factory_target(target)
    if factory is not None and not Path(target).is_file():
        module, example = call_factory(factory)
        return assemble.from_eager_module(module, example, target, "python", options, str(factory))
    path = Path(target)
    if not path.is_file():
        raise ModelLoadError("no such file" if not path.exists() else "not a model file")
    kind = archive_kind(path)
    if kind == PT2:
        return assemble.from_exported_archive(path, options)
    if kind == TORCHSCRIPT:
        return assemble.from_torchscript_archive(path, options)
    if kind == PICKLE:
        return assemble.from_pickle(path, options)
    raise ModelLoadError(
        "not a PyTorch model archive (expected a torch.export .pt2, a TorchScript archive "
        "or a torch.save pickle)"
    )
