"""The register of processing activities (GDPR Art. 30(1); R71), generated from what the system already knows.

Nothing here is typed twice: one entry per purpose (its description, legal basis, data categories and
retention), plus the activities the software itself performs (campaign sending per channel, double opt-in
sign-up, rights requests, requalification, SMS replies, staff accounts). The controller and DPO come from the
organisation settings, the recipients and transfers from the processors inventory (processors.py), the erasure
time limits from the settings the retention run obeys. Each entry lists what is still missing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import channels, get_channel
from sender.config import Settings
from sender.db import utcnow
from sender.enums import Channel
from sender.models import Purpose, PurposeDpia
from sender.paths import resource_dir
from sender.services.accounts import organisation
from sender.services.records import csv_export, dpia, processors

# The Art. 30(1) fields of an entry, in the article's order (the CSV's columns after key and name).
FIELDS = (
    "controller",
    "dpo",
    "purposes",
    "legal_basis",
    "data_subjects",
    "data_categories",
    "recipients",
    "third_countries",
    "transfers",
    "erasure",
    "security",
)
FORMATS = ("csv", "json", "html")
# The printable page's only style, inline so that the file stands alone; pages that serve it under a
# Content-Security-Policy allow it by its hash (style_hash).
PRINT_STYLE = (
    "body { font: 11pt/1.4 sans-serif; margin: 2em; }\n"
    "table { border-collapse: collapse; width: 100%; margin-bottom: 2em; page-break-inside: avoid; }\n"
    "th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; vertical-align: top; }\n"
    "th { width: 22%; background: #eee; }\n"
    ".missing { color: #a00; }\n"
)
STAFF = "the organisation's authorised staff (roles admin, marketer, DPO)"
SECURITY = (
    "role-based staff access with a permission matrix and expiring sessions; personal data never in logs, "
    "URLs or job payloads; signed, expiring links; keyed hashes for suppressed and erased addresses; "
    "hash-chained audit trail with HMAC checkpoints; consent ledger append-only; "
    "messages rendered in a sandbox; secrets and instance files readable by the service only"
)


@dataclass(frozen=True)
class Activity:
    """One entry of the register: every Art. 30(1) field, and what is missing to complete it."""

    key: str
    name: str
    controller: str
    dpo: str
    purposes: str
    legal_basis: str
    data_subjects: list[str]
    data_categories: list[str]
    recipients: list[str]
    third_countries: list[str]
    transfers: list[str]
    erasure: str
    security: str
    dpia: str | None = None
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Register:
    """The whole register at a moment."""

    generated_at: str
    controller: dict[str, str]
    activities: list[Activity]
    processors: list[processors.Entry]

    @property
    def incomplete(self) -> list[Activity]:
        """The entries that still miss something."""
        return [a for a in self.activities if a.missing]


def _recipient(entry: processors.Entry) -> str:
    return f"{entry.name} ({entry.role}, {entry.country or 'country to complete'})"


def _transfer(entry: processors.Entry) -> str:
    mechanism = entry.transfer_mechanism or "no mechanism documented"
    return f"{entry.name} to {entry.country}: {mechanism}"


class _Builder:
    """Puts the shared facts (controller, processors, settings) into each entry."""

    def __init__(self, session: Session, settings: Settings) -> None:
        org = organisation.effective(session, settings)
        self.settings = settings
        self.controller = {
            "name": org.legal_name,
            "address": org.postal_address,
            "contact": org.contact_email,
            "dpo": org.dpo_contact,
        }
        self.inventory = processors.inventory(session, settings)
        used = processors.in_use(self.inventory)
        self.by_channel = {e.channel: e for e in used if e.channel}
        # Processors that serve every activity (hosting, backups): those not tied to a channel.
        self.shared = [e for e in used if e.channel is None]

    def entries_for(self, channel_names: Iterable[str]) -> list[processors.Entry]:
        """The processors an activity hands data to: its channels' providers and the shared ones."""
        found = [self.by_channel[c] for c in channel_names if c in self.by_channel]
        return found + self.shared

    def activity(
        self,
        key: str,
        name: str,
        *,
        purposes: str,
        legal_basis: str,
        subjects: list[str],
        categories: list[str],
        channels_used: Iterable[str],
        erasure: str,
        declared: Iterable[str] = (),
        declared_transfers: Iterable[str] = (),
        dpia_note: str | None = None,
    ) -> Activity:
        """One entry, with its recipients and transfers from the inventory and what is missing."""
        entries = self.entries_for(channels_used)
        abroad = [e for e in entries if e.outside_eea]
        unknown = [e.name for e in entries if e.country is None]
        # An unknown country is not "no transfer": it stays visibly to complete.
        none = (
            f"none known: country of {', '.join(unknown)} to complete"
            if unknown
            else "none: no transfer outside the EEA"
        )
        c = self.controller
        controller = ", ".join(v for v in (c["name"], c["address"], c["contact"]) if v)
        missing = [k for k in ("name", "address", "contact") if not c[k]]
        gaps = [f"controller {k}" for k in missing]
        if not c["dpo"]:
            gaps.append("dpo")
        if not purposes.strip():
            gaps.append("purposes")
        if not categories:
            gaps.append("data_categories")
        for entry in entries:
            if entry.missing():
                gaps.append(f"processor {entry.key}: {', '.join(entry.missing())}")
        if dpia_note:
            gaps.append(f"dpia: {dpia_note}")
        return Activity(
            key=key,
            name=name,
            controller=controller,
            dpo=c["dpo"],
            purposes=purposes,
            legal_basis=legal_basis,
            data_subjects=subjects,
            data_categories=categories,
            recipients=[STAFF, *(_recipient(e) for e in entries), *declared],
            third_countries=sorted({e.country for e in abroad if e.country}) or [none],
            transfers=[_transfer(e) for e in abroad] + list(declared_transfers) or [none],
            erasure=erasure,
            security=SECURITY,
            dpia=dpia_note,
            missing=gaps,
        )


def _purpose_entries(b: _Builder, session: Session) -> list[Activity]:
    rows = session.execute(
        select(Purpose, PurposeDpia)
        .outerjoin(PurposeDpia, PurposeDpia.purpose_id == Purpose.id)
        .order_by(Purpose.id)
    ).all()
    return [
        b.activity(
            f"purpose:{purpose.slug}",
            purpose.name,
            purposes=purpose.description,
            legal_basis=purpose.legal_basis,
            subjects=["contacts (customers and prospects) reached for this purpose"],
            categories=list(purpose.data_categories or []),
            channels_used=list(Channel),
            erasure=f"{purpose.retention_days} days after the person's last interaction, then erased "
            "(a keyed hash remains on the suppression list)",
            declared=list(purpose.processors or []),
            declared_transfers=list(purpose.transfers or []),
            dpia_note=dpia.blocking(row),
        )
        for purpose, row in rows
    ]


def _built_in(b: _Builder) -> list[Activity]:
    s = b.settings
    contact_data = [
        "identification and contact details (email address, phone number, name)",
        "consent records",
    ]
    kept = "kept with the contact's record and erased with it (erasure request or retention run)"
    entries = [
        b.activity(
            f"sending:{channel.name}",
            f"Campaign sending ({channel.name})",
            purposes=f"sending the campaigns people consented to, by {channel.name}, and recording each delivery",
            legal_basis="consent (Art. 6(1)(a)), checked per purpose and channel before every message",
            subjects=["contacts who consented to a purpose on this channel"],
            categories=[*contact_data, "delivery records (status, provider answer)"],
            channels_used=[channel.name],
            erasure=f"provider answers removed from delivery records after {s.delivery_log_days} days; "
            "contacts erased when no purpose's retention justifies them",
        )
        for channel in channels()
    ]
    email = get_channel(Channel.EMAIL).name
    entries += [
        b.activity(
            "signup",
            "Double opt-in sign-up",
            purposes="collecting consent on the sign-up form and confirming the address by email",
            legal_basis="consent (Art. 6(1)(a)), proven by the confirmed link (Art. 7(1))",
            subjects=["people who sign up on the public form"],
            categories=[*contact_data, "sign-up evidence (time, wording shown)"],
            channels_used=[email],
            erasure=f"unconfirmed sign-ups deleted after {s.signup_ttl_days} days; confirmed ones follow the "
            "purpose's retention",
        ),
        b.activity(
            "rights",
            "Rights requests",
            purposes="answering access, rectification, erasure, restriction, portability and objection "
            "requests (Art. 15-21)",
            legal_basis="legal obligation (Art. 6(1)(c))",
            subjects=["people exercising their rights"],
            categories=[*contact_data, "requests and their answers"],
            channels_used=[email],
            erasure=kept,
        ),
        b.activity(
            "requalification",
            "Requalification of legacy contacts",
            purposes="asking contacts of uncertain consent whether they still want messages",
            legal_basis="legitimate interest (Art. 6(1)(f)) in asking once, under the DPO's approval",
            subjects=["contacts without a valid consent record"],
            categories=[*contact_data, "their answer"],
            channels_used=list(Channel),
            erasure=f"people who do not answer within {s.requalification_deadline_days} days are erased or "
            "archived as restricted by the retention run",
        ),
        b.activity(
            "sms_replies",
            "SMS replies",
            purposes="honouring STOP and other replies to SMS campaigns",
            legal_basis="legal obligation (Art. 21, French CPCE L34-5)",
            subjects=["contacts who reply to an SMS"],
            categories=["phone number", "reply text"],
            channels_used=[Channel.SMS],
            erasure=kept,
        ),
        b.activity(
            "staff",
            "Staff accounts",
            purposes="signing in staff and tracing their actions in the audit trail",
            legal_basis="legitimate interest (Art. 6(1)(f)) in securing the processing (Art. 32)",
            subjects=["staff users"],
            categories=["email address", "role", "password hash", "sign-in times", "audit events (ids only)"],
            channels_used=[],
            erasure="kept while the account exists; the audit trail keeps only the user's id",
        ),
    ]
    return entries


def build(session: Session, settings: Settings) -> Register:
    """The register as it stands: the purposes' entries, then the built-in activities."""
    b = _Builder(session, settings)
    return Register(
        generated_at=utcnow().isoformat(timespec="seconds") + "Z",
        controller=b.controller,
        activities=_purpose_entries(b, session) + _built_in(b),
        processors=b.inventory,
    )


def as_json(register: Register) -> str:
    """The register as one JSON document."""
    return json.dumps(
        {
            "generated_at": register.generated_at,
            "controller": register.controller,
            "activities": [asdict(a) for a in register.activities],
            "processors": [e.as_dict() for e in register.processors],
        },
        indent=2,
    )


def _cell(value: Any) -> Any:
    return "; ".join(value) if isinstance(value, list) else value


def as_csv(register: Register) -> str:
    """The register as CSV: one row per entry, lists joined with "; ", formulas neutralised (staff typed
    its texts: csv_export.stream, as for every other export)."""
    columns = ["key", "name", *FIELDS, "dpia", "missing"]
    rows = ([_cell(asdict(activity)[c]) for c in columns] for activity in register.activities)
    return "".join(csv_export.stream(columns, rows, ZoneInfo("UTC")))


def as_html(register: Register) -> str:
    """The register as a printable, self-contained HTML page."""
    env = Environment(
        loader=FileSystemLoader(resource_dir("templates")), autoescape=select_autoescape(default=True)
    )
    return env.get_template("records/register.html").render(
        register=register, fields=FIELDS, style=PRINT_STYLE
    )


def style_hash() -> str:
    """The CSP source of the printable page's style ('sha256-...')."""
    digest = base64.b64encode(hashlib.sha256(PRINT_STYLE.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def export(register: Register, fmt: str) -> str:
    """The register in one of FORMATS."""
    return {"csv": as_csv, "json": as_json, "html": as_html}[fmt](register)
