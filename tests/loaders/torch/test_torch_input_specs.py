"""InputSpecs: names from forward, token ranges from embeddings, batch from the options."""
from __future__ import annotations

import inspect

import pytest
import torch

from gradlint.errors import ModelLoadError
from gradlint.loaders.torch.example_inputs import (
    ExampleInputs,
    forward_parameters,
    normalize_example,
    requested_inputs,
)
from gradlint.loaders.torch.export_graph import export_program
from gradlint.loaders.torch.export_records import records_from_program
from gradlint.loaders.torch.input_specs import (
    embedding_ranges,
    smallest_embedding,
    specs_from_example,
    specs_from_request,
)
from gradlint.options import InputOverrides
from torch_models import Nested, TokenModel


class TwoInputs(torch.nn.Module):
    def forward(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return image if mask is None else image * mask


def test_example_forms_are_named_after_forward() -> None:
    module = TwoInputs()
    image, mask = torch.ones(2, 3), torch.zeros(2, 3)
    assert normalize_example(image, module, "f").names == ("image",)
    assert normalize_example((image, mask), module, "f").names == ("image", "mask")
    as_dict = normalize_example({"mask": mask, "image": image}, module, "f")
    assert as_dict.names == ("mask", "image") and as_dict.kwargs["image"] is image
    with pytest.raises(ModelLoadError, match="tuple of tensors"):
        normalize_example([image, "text"], module, "f")


def test_token_range_comes_from_the_indexed_embedding() -> None:
    model = TokenModel(vocab=37)
    ids = torch.randint(0, 10, (2, 5))
    records = records_from_program(export_program(model, (ids,), {}))
    assert embedding_ranges(records, ["input_ids"]) == {"input_ids": 37}
    assert smallest_embedding(model) == 5
    specs = specs_from_example(ExampleInputs((ids,), {}, ("input_ids",)), InputOverrides(), {"input_ids": 37}, None)
    assert (specs[0].dtype, specs[0].low, specs[0].high, specs[0].shape) == (torch.int64, 0, 37, (2, 5))


def test_without_an_embedding_the_example_bounds_the_ids() -> None:
    ids = torch.tensor([[3, 9], [0, 1]])
    specs = specs_from_example(ExampleInputs((ids,), {}, ("ids",)), InputOverrides(), {}, None)
    assert specs[0].high == 10


def test_a_shared_batch_dim_takes_the_batch_size() -> None:
    example = ExampleInputs((torch.ones(2, 3, 4), torch.ones(2, 7)), {}, ("a", "b"))
    specs = specs_from_example(example, InputOverrides(), {}, batch_size=8)
    assert [s.shape for s in specs] == [(8, 3, 4), (8, 7)] and all(s.batch_axis == 0 for s in specs)
    vector = ExampleInputs((torch.ones(5),), {}, ("v",))
    assert specs_from_example(vector, InputOverrides(), {}, batch_size=8)[0].shape == (5,)
    mixed = ExampleInputs((torch.ones(2, 3), torch.ones(4, 3)), {}, ("a", "b"))
    assert [s.shape for s in specs_from_example(mixed, InputOverrides(), {}, 8)] == [(2, 3), (4, 3)]


def test_user_shapes_win_over_the_example() -> None:
    example = ExampleInputs((torch.ones(2, 3),), {}, ("x",))
    overrides = InputOverrides(shapes={"": (5, 3)})
    assert specs_from_example(example, overrides, {}, batch_size=8)[0].shape == (5, 3)


def test_requested_inputs_follow_the_signature() -> None:
    parameters = forward_parameters(TwoInputs())
    shapes = InputOverrides(shapes={"mask": (2, 3), "image": (2, 3)}, dtypes={"mask": torch.bool})
    requested = requested_inputs(parameters, shapes)
    assert [name for name, _ in requested] == ["image", "mask"]
    specs = specs_from_request(requested, shapes, {}, default_high=2)
    assert [s.dtype for s in specs] == [torch.float32, torch.bool]
    sole = requested_inputs(parameters, InputOverrides(shapes={"": (1, 3)}))
    assert sole == [("image", (1, 3))]


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        ({}, r"pass --input-shape image=DIMS .*forward takes image, mask"),
        ({"mask": (2, 3)}, "no input shape for image"),
        ({"pixels": (2, 3)}, "forward takes image, mask"),
    ],
)
def test_missing_inputs_say_what_to_pass(shapes: dict, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        requested_inputs(forward_parameters(TwoInputs()), InputOverrides(shapes=shapes))


def test_torchscript_forward_names_come_from_the_schema() -> None:
    names = [p.name for p in forward_parameters(torch.jit.script(Nested()))]
    assert names == ["x"]
    assert all(p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD for p in forward_parameters(TwoInputs()))
