"""The Diagnostics the probes emit about their own health (matched by GL9xx rules)."""
from __future__ import annotations

from typing import Sequence

from gradlint.model import Diagnostic


def partial(what: str, failed: Sequence[tuple[str, Exception]]) -> Diagnostic:
    node, error = failed[0]
    cause = " ".join(str(error).split())[:300] or type(error).__name__
    return Diagnostic(
        kind="probe-partial",
        message=f"{what} could not be measured at {len(failed)} place(s); first {node}: {type(error).__name__}: {cause}",
        node=node,
        details={"nodes": [n for n, _ in failed]},
    )


def no_backward() -> Diagnostic:
    return Diagnostic(
        kind="probe-partial",
        message="no float output depends on a parameter or float input: no gradient was measured",
    )


def not_converged(stuck: Sequence[str], tolerance: float) -> list[Diagnostic]:
    if not stuck:
        return []
    return [Diagnostic(
        kind="probe-not-converged",
        message=(
            f"sigma_max did not settle to a relative change of {tolerance:g} within the iteration "
            f"cap at {len(stuck)} place(s), first {stuck[0]}: those values are lower bounds"
        ),
        node=None if stuck[0] == "end-to-end" else stuck[0],
        details={"nodes": list(stuck)},
    )]
