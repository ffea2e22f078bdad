"""Frozen values of a layer follow its inputs when the layer is re-run on a slice of them."""
from __future__ import annotations

import torch

from gradlint.loaders.onnx.layer_taps import LayerSnapshot


def test_per_sample_frozen_values_are_sliced_with_the_inputs_and_shape_tensors_are_not() -> None:
    mask = torch.zeros(8, 12, 4, 4, dtype=torch.bool)
    shape = torch.tensor([8, 12, 4, 4])
    snapshot = LayerSnapshot(("scores",), {"mask": mask, "shape": shape}, (torch.Size([8, 12, 4, 4]),))
    frozen = snapshot.frozen_like([torch.zeros(1, 12, 2, 4)])
    assert frozen["mask"].shape == (1, 12, 2, 4)
    assert torch.equal(frozen["shape"], shape)
    assert snapshot.frozen_like([torch.zeros(8, 12, 4, 4)])["mask"].shape == (8, 12, 4, 4)
