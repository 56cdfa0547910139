"""The register of processing (R71) and the processors inventory it reads (R76), and `sender register export`."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.cli.main import cli
from sender.config import Settings
from sender.enums import Channel
from sender.models import AuditEvent
from sender.runtime import Runtime
from sender.services.records import processors, register
from tests.factories import PurposeFactory
from tests.sms_fixtures import sms_settings, twilio  # noqa: F401  (fixtures)

# One sending activity per channel, then the rest.
BUILT_IN = (
    *(f"sending:{channel}" for channel in Channel),
    "signup",
    "rights",
    "requalification",
    "sms_replies",
    "staff",
)


def test_every_built_in_activity_holds_every_art_30_field(db_session: Session, settings: Settings) -> None:
    built = register.build(db_session, settings.with_overrides(smtp_url="smtp://relay.example.com"))
    by_key = {a.key: a for a in built.activities}
    assert set(BUILT_IN) <= set(by_key)
    for key in BUILT_IN:
        activity = by_key[key]
        for field in register.FIELDS:
            assert getattr(activity, field), (key, field)
    assert by_key["sending:email"].controller == (
        "Exemple SAS, 1 rue de la Paix, 75002 Paris, France, contact@exemple.test"
    )
    assert by_key["staff"].dpo == "dpo@exemple.test"


def test_a_purpose_is_an_entry_and_says_what_it_misses(db_session: Session, settings: Settings) -> None:
    PurposeFactory(slug="offers", name="Offers", data_categories=[], retention_days=400)
    built = register.build(db_session, settings)
    (entry,) = [a for a in built.activities if a.key == "purpose:offers"]
    assert entry.missing == ["data_categories"]
    assert entry.erasure.startswith("400 days")
    assert entry.transfers == ["none: no transfer outside the EEA"]


def test_twilio_is_a_transfer_under_binding_corporate_rules(
    db_session: Session,
    sms_settings: Settings,  # noqa: F811
) -> None:
    built = register.build(db_session, sms_settings)
    sms = next(a for a in built.activities if a.key == "sending:sms")
    assert sms.third_countries == ["US"]
    assert sms.transfers == ["Twilio Inc. to US: bcr"]
    assert "processor sms: contract_ref, since" in sms.missing
    processors.record(
        db_session,
        "sms",
        processors.Facts("Twilio Inc.", "delivers SMS", "US", "bcr", "Twilio DPA 2024", date(2024, 1, 1)),
        "test",
    )
    sms = next(a for a in register.build(db_session, sms_settings).activities if a.key == "sending:sms")
    assert sms.missing == []


def test_cli_exports_the_register_in_three_formats(base_env: dict[str, str], committed: Runtime) -> None:
    runner = CliRunner(env=base_env)
    as_json = runner.invoke(cli, ["register", "export", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.output)
    assert [a["key"] for a in document["activities"]] == list(BUILT_IN)
    assert document["controller"]["dpo"] == "dpo@exemple.test"
    as_csv = runner.invoke(cli, ["register", "export", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [r["key"] for r in rows] == list(BUILT_IN)
    assert set(register.FIELDS) <= set(rows[0])
    as_html = runner.invoke(cli, ["register", "export", "--format", "html"])
    assert as_html.exit_code == 0 and '<h2 id="staff">Staff accounts</h2>' in as_html.output
    assert runner.invoke(cli, ["register", "export", "--format", "pdf"]).exit_code == 2
    with committed.Session() as session:
        actions = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "register.export"))
        assert sorted(d["format"] for d in actions) == ["csv", "html", "json"]


def test_a_typed_text_that_a_spreadsheet_would_run_is_neutralised_in_the_csv(
    db_session: Session, settings: Settings
) -> None:
    PurposeFactory(slug="offers", name='=HYPERLINK("http://evil.example")')

    rows = list(csv.DictReader(io.StringIO(register.as_csv(register.build(db_session, settings)))))

    (offers,) = [r for r in rows if r["key"].endswith("offers")]
    assert offers["name"] == '\'=HYPERLINK("http://evil.example")'
