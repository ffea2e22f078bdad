"""The built-in rule pack, installed as `gradlint.rules`: one rule per module, one table."""
from __future__ import annotations
