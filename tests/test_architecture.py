"""The layers drawn in docs/architecture.md are the ones import-linter enforces."""

from __future__ import annotations

import ast
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


def _imports_and_calls(path: Path) -> tuple[set[str], list[ast.Call]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    return imported, [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_views_leave_addresses_and_portal_decisions_to_the_services() -> None:
    # Issue 16: pasted addresses are read by lists.add_by_addresses; the confirmation channel of a portal
    # grant is chosen by portal_grants, and the register's record of a portal request is written by its service.
    lists_imports, _ = _imports_and_calls(ROOT / "sender" / "web" / "admin" / "lists.py")
    assert "sender.addresses" not in lists_imports
    portal_imports, calls = _imports_and_calls(ROOT / "sender" / "web" / "public" / "portal.py")
    assert not portal_imports & {
        "sender.services.rights.confirmations",
        "sender.services.accounts.organisation",
    }
    register_writes = [
        call
        for call in calls
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "record_completed"
        and any(
            isinstance(a, ast.Constant) and a.value in ("rectification", "restriction") for a in call.args
        )
    ]
    assert register_writes == []
