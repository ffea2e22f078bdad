from __future__ import annotations

from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from gradlint.analysis.probe.jacobian import GraphJacobian
from gradlint.analysis.probe.linear_backward import linear_backward_convolutions

# (function, input shape, weight shape, keyword arguments)
CASES = [
    (F.conv2d, (2, 4, 9, 9), (6, 4, 3, 3), {"padding": 1}),
    (F.conv2d, (2, 4, 9, 8), (6, 4, 3, 3), {"stride": 2, "padding": 1}),
    (F.conv2d, (2, 4, 10, 10), (6, 4, 3, 2), {"stride": (2, 3), "padding": (1, 0), "dilation": (2, 1)}),
    (F.conv2d, (2, 6, 8, 8), (6, 1, 3, 3), {"padding": 1, "groups": 6}),
    (F.conv2d, (2, 4, 8, 8), (6, 2, 3, 3), {"padding": "same", "groups": 2}),
    (F.conv2d, (2, 4, 8, 8), (6, 4, 3, 3), {"padding": "valid"}),
    (F.conv1d, (2, 3, 11), (5, 3, 4), {"stride": 3}),
    (F.conv3d, (1, 2, 5, 6, 5), (3, 2, 2, 3, 2), {"stride": (1, 2, 1), "padding": 1}),
    (F.conv_transpose2d, (2, 4, 5, 5), (4, 6, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    (F.conv_transpose2d, (2, 4, 5, 6), (4, 3, 3, 3), {"stride": (1, 2), "dilation": 2, "groups": 2}),
    (F.conv_transpose1d, (2, 3, 7), (3, 5, 4), {"stride": 3, "padding": 2, "output_padding": 2}),
]


def _case(case: tuple, bias: bool = True) -> tuple[Callable, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    function, x_shape, w_shape, kwargs = case
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(x_shape, generator=generator, dtype=torch.float64)
    weight = torch.randn(w_shape, generator=generator, dtype=torch.float64)
    out_channels = w_shape[0] if function in (F.conv1d, F.conv2d, F.conv3d) else w_shape[1] * kwargs.get("groups", 1)
    b = torch.randn(out_channels, generator=generator, dtype=torch.float64) if bias else None
    return (lambda x, w, b: function(x, w, b, **kwargs)), x, weight, b


def _derivatives(function: Callable, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> list:
    """Value, first derivatives (input, weight, bias) and the double-backward J v."""
    leaves = [t.detach().requires_grad_(True) for t in (x, weight) + ((bias,) if bias is not None else ())]
    out = function(*leaves) if bias is not None else function(*leaves, None)
    cotangent = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape).requires_grad_(True)
    grads = torch.autograd.grad(out, leaves, cotangent, create_graph=True)
    tangent = torch.cos(torch.arange(x.numel(), dtype=x.dtype)).reshape(x.shape)
    (jvp,) = torch.autograd.grad(grads[0], cotangent, tangent)
    return [out.detach(), *(g.detach() for g in grads), jvp]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}{c[1]}{c[3]}")
def test_values_and_both_derivative_orders_are_torchs_own(case: tuple) -> None:
    function, x, weight, bias = _case(case)
    expected = _derivatives(function, x, weight, bias)
    with linear_backward_convolutions():
        actual = _derivatives(function, x, weight, bias)
    for got, want in zip(actual, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[8]], ids=["strided", "depthwise", "transposed"])
def test_second_derivatives_pass_gradgradcheck(case: tuple) -> None:
    function, x, weight, bias = _case(case)
    inputs = (x.requires_grad_(True), weight.requires_grad_(True), bias.requires_grad_(True))
    with linear_backward_convolutions():
        assert torch.autograd.gradgradcheck(function, inputs, fast_mode=True)


class _CountConvolutions(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if func.overloadpacket in (torch.ops.aten.convolution, torch.ops.aten.convolution_backward):
            self.count += 1
        return func(*args, **(kwargs or {}))


def _counted(product: Callable[[], object]) -> int:
    counter = _CountConvolutions()
    with counter:
        product()
    return counter.count


def test_a_jacobian_vector_product_costs_one_convolution_not_two() -> None:
    """torch's own double backward also convolves for a weight gradient nobody asked for."""
    x, tangent, weight = torch.randn(1, 8, 12, 12), torch.randn(1, 8, 12, 12), torch.randn(8, 8, 3, 3)
    layer = lambda x: F.conv2d(x, weight, padding=1).relu()  # noqa: E731
    operator = GraphJacobian.of_function(layer, (x,))
    assert _counted(lambda: operator.jvp((tangent,))) == 1

    leaf = x.clone().requires_grad_(True)
    out = layer(leaf)
    cotangent = torch.zeros_like(out, requires_grad=True)
    (transposed,) = torch.autograd.grad(out, leaf, cotangent, create_graph=True)
    native = _counted(lambda: torch.autograd.grad(transposed, cotangent, tangent, retain_graph=True))
    assert native == 2
    torch.testing.assert_close(
        operator.jvp((tangent,))[0], torch.autograd.grad(transposed, cotangent, tangent)[0]
    )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_calls_it_cannot_mirror_run_as_torchs_own() -> None:
    """'same' padding of odd total (an even kernel) and an output_padding past the stride."""
    x = torch.randn(1, 2, 7, 7, dtype=torch.float64)
    cases = [
        (lambda x, w: F.conv2d(x, w, padding="same"), torch.randn(3, 2, 2, 2, dtype=torch.float64)),
        (lambda x, w: F.conv_transpose2d(x, w, stride=1, output_padding=1, dilation=2), torch.randn(2, 3, 3, 3, dtype=torch.float64)),
    ]
    for function, weight in cases:
        expected = _derivatives(lambda x, w, b: function(x, w), x, weight, None)
        with linear_backward_convolutions():
            actual = _derivatives(lambda x, w, b: function(x, w), x, weight, None)
        for got, want in zip(actual, expected):
            torch.testing.assert_close(got, want)
