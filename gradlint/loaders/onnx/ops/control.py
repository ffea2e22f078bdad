"""Control flow: If (branch chosen at run time) and Loop (trip count and/or condition).

Subgraphs run through `ctx.run_subgraph`, which lets them read the enclosing scope. Loop scan
outputs are stacked along a new first axis; loop-carried values flow step to step, so
gradients pass through every iteration.
"""
from __future__ import annotations

import torch

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input


@onnx_op("If")
def if_(ctx: OpContext, inputs: list, attrs: dict) -> list:
    take_then = bool(inputs[0].reshape(-1)[0].item())
    branch = attrs["then_branch"] if take_then else attrs["else_branch"]
    return ctx.run_subgraph(branch, [])


@onnx_op("Loop")
def loop(ctx: OpContext, inputs: list, attrs: dict) -> list:
    body = attrs["body"]
    trip_t, cond_t = optional_input(inputs, 0), optional_input(inputs, 1)
    trips = int(trip_t.reshape(-1)[0].item()) if trip_t is not None else None
    keep_going = bool(cond_t.reshape(-1)[0].item()) if cond_t is not None else True
    carried = list(inputs[2:])
    device = carried[0].device if carried else ctx.device
    scans: list[list[torch.Tensor]] = []
    step = 0
    while keep_going and (trips is None or step < trips):
        counter = torch.tensor(step, dtype=torch.int64, device=device)
        condition = torch.tensor(keep_going, dtype=torch.bool, device=device)
        outputs = ctx.run_subgraph(body, [counter, condition, *carried])
        # onnxruntime and the ONNX reference honour the body's condition even without `cond`
        keep_going = bool(outputs[0].reshape(-1)[0].item())
        carried = list(outputs[1 : 1 + len(carried)])
        scan_values = outputs[1 + len(carried):]
        scans = scans or [[] for _ in scan_values]
        for collected, value in zip(scans, scan_values):
            collected.append(value)
        step += 1
    stacked = [torch.stack(values) for values in scans]
    missing = ctx.num_outputs - len(carried) - len(stacked)
    empty = [torch.zeros(0, dtype=ctx.float_dtype, device=device) for _ in range(missing)]
    return [*carried, *stacked, *empty]
