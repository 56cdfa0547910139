"""Statuses and reasons are written with the enums of sender.enums, never as bare strings, in services,
channels, tasks, the job port, the web and the CLI.

The check reads the code (ast), so it sees only what it can tell for sure: a status compared with or set
on a contact, campaign, delivery, consent state, import batch, rights request or requalification ask, and a
delivery or suppression reason passed by keyword.
"""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from sender.enums import (
    AskStatus,
    CampaignStatus,
    ConsentStatus,
    ContactStatus,
    DeliveryReason,
    DeliveryStatus,
    ImportStatus,
    RequestStatus,
    SkipReason,
    SuppressionReason,
)

ROOT = Path(__file__).resolve().parent.parent / "sender"
CHECKED = ("services", "channels", "tasks", "work", "web", "cli")

# Whose `.status` it is, told by the name before it: `contact.status`, `Contact.status`, `found.contact.status`.
STATUS_OF: dict[str, type[StrEnum]] = {
    "contact": ContactStatus,
    "campaign": CampaignStatus,
    "delivery": DeliveryStatus,
    "state": ConsentStatus,
    "consentstate": ConsentStatus,
    "batch": ImportStatus,
    "importbatch": ImportStatus,
    "request": RequestStatus,
    "rightsrequest": RequestStatus,
    "ask": AskStatus,
    "requalificationask": AskStatus,
}
REASONS = {m.value for m in (*SkipReason, *DeliveryReason)}
SUPPRESSIONS = {m.value for m in SuppressionReason}


def _owner(node: ast.expr) -> str | None:
    """For `<x>.status`, the lower-case last name of x."""
    if not (isinstance(node, ast.Attribute) and node.attr == "status"):
        return None
    receiver = node.value
    if isinstance(receiver, ast.Attribute):
        return receiver.attr.lower()
    if isinstance(receiver, ast.Name):
        return receiver.id.lower()
    return None


def _strings(node: ast.expr) -> list[str]:
    """The bare strings of a constant or of a tuple, list or set of constants."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def _model_of_values(call: ast.Call) -> str | None:
    """For `update(Model)....values(...)` or `insert(Model)....values(...)`, the model's lower-case name."""
    node: ast.expr = call.func
    while isinstance(node, ast.Attribute | ast.Call):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("update", "insert")
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            return node.args[0].id.lower()
        node = node.func if isinstance(node, ast.Call) else node.value
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def bare_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of each status or reason written as a bare string in `source`."""
    found: list[tuple[int, str]] = []

    def status(owner: str | None, value_node: ast.expr, line: int) -> None:
        # `owner` names whose status it is; an owner without an enum (a webhook attempt, say) is not checked.
        enum = STATUS_OF.get(owner or "")
        if enum is not None:
            found.extend((line, s) for s in _strings(value_node) if s in {m.value for m in enum})

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for side in sides:
                for other in sides:
                    if other is not side:
                        status(_owner(side), other, node.lineno)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                status(_owner(target), node.value, node.lineno)
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "in_" and isinstance(node.func, ast.Attribute) and node.args:
                status(_owner(node.func.value), node.args[0], node.lineno)
            model = name.lower() if isinstance(node.func, ast.Name) else None
            if name == "values":
                model = _model_of_values(node)
            for keyword in node.keywords:
                if keyword.arg == "status":
                    status(model, keyword.value, node.lineno)
                elif keyword.arg == "reason":
                    found.extend((node.lineno, s) for s in _strings(keyword.value) if s in REASONS)
                elif keyword.arg == "suppress":
                    found.extend((node.lineno, s) for s in _strings(keyword.value) if s in SUPPRESSIONS)
            if name == "suppress" and len(node.args) == 4:
                found.extend((node.lineno, s) for s in _strings(node.args[3]) if s in SUPPRESSIONS)
    return sorted(found)


def _modules() -> list[Path]:
    return [p for part in CHECKED for p in sorted((ROOT / part).rglob("*.py"))]


def test_services_channels_tasks_web_and_cli_write_statuses_and_reasons_with_the_enums() -> None:
    offenders = [
        f"{path.relative_to(ROOT.parent)}:{line}: {value!r}"
        for path in _modules()
        for line, value in bare_literals(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "use the enums of sender.enums:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "code",
    [
        'if contact.status == "erased": pass',
        'ok = found.contact.status != "active"',
        'x = state.status in ("granted", "pending")',
        'contact.status = "restricted"',
        'q = select(Campaign).where(Campaign.status.in_(("sending", "paused")))',
        'q = update(Delivery).where(Delivery.id == 1).values(status="skipped", reason="erased")',
        'c = Contact(email=e, status="pending")',
        'raise RenderFailed("no address", reason="no_address")',
        'v = Verdict("failed", "opted_out", suppress="carrier_opt_out")',
        'suppress(session, digest, channel, "objection")',
        'if batch.status == "failed": pass',
        'if request.status == "open": pass',
        'q = update(ImportBatch).values(status="failed")',
        'ask.status = "confirmed"',
        'q = select(RequalificationAsk).where(RequalificationAsk.status == "asked")',
    ],
)
def test_the_check_sees_a_bare_status_or_reason(code: str) -> None:
    assert bare_literals(code)


@pytest.mark.parametrize(
    "code",
    [
        "if contact.status == ContactStatus.ERASED: pass",
        'if attempt.status == "failed": pass',  # a webhook attempt: not one of the checked owners
        'errors["email"] = "is required"',
        'ledger.record(session, contact, purpose, mechanism="one_click")',
        'if result.outcome == "sent": pass',  # the channel protocol's own vocabulary
    ],
)
def test_the_check_leaves_other_strings_alone(code: str) -> None:
    assert bare_literals(code) == []
