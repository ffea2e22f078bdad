"""The built-in rule pack, installed as `gradlint.rules`: one rule per module.

Add a rule by writing `rules/glNNN_kebab_name.py` with a four-section docstring (What it does /
Why it matters / Example / How to fix, plus References) and a module-level `RULE = Rule(...)`.
Modules are discovered here, so two people adding rules never edit the same table; the code
table itself is `gradlint.registry.rule_table()`. Codes are stable: never reuse a retired one.
"""
from __future__ import annotations

import importlib
import pkgutil

from gradlint.registry import Rule


def _discover() -> tuple[Rule, ...]:
    rules = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module_info.name.startswith("gl"):
            module = importlib.import_module(f"{__name__}.{module_info.name}")
            rules.append(module.RULE)
    return tuple(rules)


BUILTIN_RULES: tuple[Rule, ...] = _discover()
