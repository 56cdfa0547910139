"""The layers drawn in docs/architecture.md are the ones import-linter enforces."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _documented_layers() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block is not None, "docs/architecture.md has no ```layers block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_documented_layers_are_the_enforced_ones() -> None:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    assert _documented_layers() == layers["layers"]


def test_the_rules_never_import_flask() -> None:
    (forbidden,) = [c for c in _contracts() if c["type"] == "forbidden"]
    assert forbidden["forbidden_modules"] == ["flask"]
    assert set(forbidden["source_modules"]) == {"sender.services", "sender.channels", "sender.models"}  # type: ignore[arg-type]


def test_no_module_is_excused_from_the_layers() -> None:
    # Each exception once hid a service that enqueued through tasks/: jobs now go through sender.work.
    for contract in _contracts():
        assert not contract.get("ignore_imports"), contract["name"]
