"""The built-in rule pack, installed as `gradlint.rules`: one rule per module, one table.

Add a rule by writing `rules/glNNN_kebab_name.py` with a four-section docstring and a
`RULE = Rule(...)`, then listing it below. Codes are stable: never reuse a retired code.
"""
from __future__ import annotations

from gradlint.registry import Rule
from gradlint.rules import (
    gl901_unsupported_op,
    gl902_parity_mismatch,
    gl903_postprocessing_cut,
    gl904_graph_fallback,
    gl905_parity_unavailable,
    gl906_probe_limited,
    gl907_execution_failed,
)

BUILTIN_RULES: tuple[Rule, ...] = (
    gl901_unsupported_op.RULE,
    gl902_parity_mismatch.RULE,
    gl903_postprocessing_cut.RULE,
    gl904_graph_fallback.RULE,
    gl905_parity_unavailable.RULE,
    gl906_probe_limited.RULE,
    gl907_execution_failed.RULE,
)
