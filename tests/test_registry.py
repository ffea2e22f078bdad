from __future__ import annotations

import re

import pytest

from gradlint.findings import Category, Severity
from gradlint.registry import rule_table

SECTIONS = ("## What it does", "## Why it matters", "## Example", "## How to fix")


def test_codes_are_stable_format_and_names_kebab_case() -> None:
    table = rule_table()
    assert table, "the built-in pack registers rules"
    for code, rule in table.items():
        assert re.fullmatch(r"GL[1-9]\d\d", code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert isinstance(rule.category, Category) and isinstance(rule.severity, Severity)
    names = [rule.name for rule in table.values()]
    assert len(names) == len(set(names)), "rule names are unique"


@pytest.mark.parametrize("code", sorted(rule_table()))
def test_every_rule_documents_itself_in_four_sections(code: str) -> None:
    doc = rule_table()[code].doc
    positions = [doc.find(section) for section in SECTIONS]
    assert all(p > 0 for p in positions), f"{code} lacks a section"
    assert positions == sorted(positions), f"{code} sections out of order"


def test_family_matches_category_for_tool_rules() -> None:
    for code, rule in rule_table().items():
        if code.startswith("GL9"):
            assert rule.category is Category.TOOL


def test_rule_module_name_matches_code_and_name() -> None:
    import gradlint.rules as pack

    for rule in pack.BUILTIN_RULES:
        module_name = f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
        assert hasattr(pack, module_name), f"{rule.code} should live in rules/{module_name}.py"
