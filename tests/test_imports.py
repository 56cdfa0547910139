"""The CSV import service: detection, mapping, merging, provenance, refusals, dry run and commit (R58, R59)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.config import Settings
from sender.models import ConsentEvent, ConsentState, Contact, ImportBatch
from sender.services.audience import contacts, import_provenance, import_report, imports
from sender.services.consent import gate, ledger
from sender.services.errors import Conflict, ValidationFailed
from tests.clock import PARIS_HALF_PAST_MIDNIGHT, PARIS_TODAY, PARIS_TOMORROW, move_clock
from tests.factories import ContactFactory
from tests.import_helpers import UNQUALIFIED, contact, create, csv_bytes, newsletter, proof, report, run


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- file handling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "sep"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("cp1252", ";"),
        ("latin-1", "\t"),
        ("utf-16", "\t"),
    ],
)
def test_encodings_and_separators_are_detected(
    db_session: Session, settings: Settings, encoding: str, sep: str
) -> None:
    content = csv_bytes(
        "Prénom|Nom|E-mail|Ville",
        "Hélène|Gaëtan-Müller|helene@example.org|Besançon",
        sep=sep,
        encoding=encoding,
    )

    batch = run(db_session, settings, content, mapping={"Ville": "attributes.city"})

    assert batch.status == "committed", batch.error
    assert batch.delimiter == sep
    assert batch.encoding == {"latin-1": "cp1252"}.get(encoding, encoding)
    person = contact(db_session, "helene@example.org")
    assert person is not None
    assert (person.first_name, person.last_name) == ("Hélène", "Gaëtan-Müller")
    assert person.attributes == {"city": "Besançon"}


def test_a_byte_cp1252_leaves_undefined_is_read_as_latin1(db_session: Session, settings: Settings) -> None:
    content = b"email,first_name\r\nx@example.org,A\x81b\r\n"

    batch = run(db_session, settings, content)

    assert batch.encoding == "latin-1"
    person = contact(db_session, "x@example.org")
    assert person is not None and person.first_name == "A\x81b"


def test_quoted_cells_may_hold_the_separator_and_newlines(db_session: Session, settings: Settings) -> None:
    content = (
        b'email;last_name;note\r\n"a@example.org";"Dupont; Durand";"two\r\nlines"\r\nb@example.org;Roy;x\r\n'
    )

    batch = run(db_session, settings, content, mapping={"note": "attributes.note"})

    assert batch.status == "committed", batch.error
    assert batch.delimiter == ";"
    person = contact(db_session, "a@example.org")
    assert person is not None and person.last_name == "Dupont; Durand"
    assert person.attributes == {"note": "two\r\nlines"}
    assert report(db_session, batch)[1][0] == 3  # rows are counted as records, as a spreadsheet shows them


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file: is empty"),
        (b"PK\x03\x04rest-of-a-zip", "file: is a ZIP archive (an Excel .xlsx workbook?)"),
        (b"email\x00,name\r\n", "file: holds NUL bytes"),
    ],
)
def test_a_file_that_is_not_csv_is_refused_at_upload(
    db_session: Session, settings: Settings, content: bytes, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create(db_session, settings, content)

    assert caught.value.message.startswith(message)


def test_a_malformed_file_fails_with_its_row_and_writes_nothing(
    db_session: Session, settings: Settings
) -> None:
    content = b'email,first_name\r\na@example.org,Ann\r\nb@example.org,"Bo"b\r\n'

    batch = run(db_session, settings, content)

    assert batch.status == "failed"
    assert batch.error is not None and batch.error.startswith("file: row 3 (line 3): ")
    assert contact(db_session, "a@example.org") is None
    assert batch.commit_key is None  # the file may be committed again once fixed


def test_a_file_without_an_address_column_names_its_columns(db_session: Session, settings: Settings) -> None:
    batch = run(db_session, settings, csv_bytes("Société|Ville", "ACME|Lyon"))

    assert batch.status == "failed"
    assert batch.error == (
        "mapping: no column holds an email or a phone number; the columns are 'Société', 'Ville': "
        "map one, e.g. 'Société'=email"
    )


def test_headers_are_recognised_in_french_and_english(db_session: Session, settings: Settings) -> None:
    content = csv_bytes(
        "Adresse e-mail;PRENOM;Nom de famille;Mobile;Pays;Langue",
        "a@example.org;Ann;Roy;06 12 34 56 78;fr;fr-FR",
        sep=";",
    )

    batch = run(db_session, settings, content, mode="analyse")

    fields = [c["field"] for c in batch.mapping["columns"]]
    assert fields == ["email", "first_name", "last_name", "phone", "country", "locale"]


def test_mapping_overrides_detection_and_bad_overrides_are_named(
    db_session: Session, settings: Settings
) -> None:
    content = csv_bytes("mail|contact|nom", "a@example.org|b@example.org|Roy")

    batch = run(
        db_session, settings, content, mapping={"mail": "ignore", "contact": "email", "nom": "first_name"}
    )
    person = contact(db_session, "b@example.org")
    assert person is not None and person.first_name == "Roy" and person.last_name is None

    bad = run(db_session, settings, content + b"x\r\n", mapping={"missing": "email", "nom": "shoe_size"})
    assert bad.status == "failed" and bad.error is not None
    assert "no column named 'missing'; the columns are 'mail', 'contact', 'nom'" in bad.error
    assert "column 'nom': 'shoe_size' is not a field" in bad.error
    assert batch.status == "committed"


# --- rows: fields, duplicates, refusals --------------------------------------------------------------


def test_countries_are_read_from_iso_codes_and_from_french_and_english_names(
    db_session: Session, settings: Settings
) -> None:
    written = ["France", "france", "FR", "fr", "FRA", "Allemagne", "Germany", "Royaume-Uni", "Côte d'Ivoire"]
    content = csv_bytes("email,pays", *(f"p{i}@example.org,{name}" for i, name in enumerate(written)))

    batch = run(db_session, settings, content)

    assert (batch.accepted, batch.fields_dropped) == (len(written), 0)
    stored = [contact(db_session, f"p{i}@example.org") for i in range(len(written))]
    assert [c.country if c else None for c in stored] == ["FR"] * 5 + ["DE", "DE", "GB", "CI"]


def test_a_bad_field_drops_that_field_and_a_row_without_a_valid_address_is_refused(
    db_session: Session, settings: Settings
) -> None:
    content = csv_bytes(
        "email,phone,country",
        "ann@example.org,12,FR",  # bad phone: imported without it
        "not-an-email,,FR",  # no valid address: refused
        ",+33612345678,Atlantis",  # bad country: imported without it
        "bob@example.org,,FR,extra",  # more cells than columns: refused
    )

    batch = run(db_session, settings, content)

    assert report(db_session, batch) == [
        (2, "accepted", "", ""),
        (2, "accepted", "phone", "not a valid phone number for its country; field left empty"),
        (3, "refused", "email", "not a valid email address (An email address must have an @-sign.)"),
        (4, "accepted", "", ""),
        (
            4,
            "accepted",
            "country",
            "not a country: give an ISO code such as FR or a name such as France (in French or English); "
            "field left empty",
        ),
        (5, "refused", "", "4 cells, but the header has 3 columns"),
    ]
    ann = contact(db_session, "ann@example.org")
    assert ann is not None and ann.phone is None and ann.country == "FR"
    by_phone = db_session.scalar(select(Contact).where(Contact.phone == "+33612345678"))
    assert by_phone is not None and by_phone.country is None
    assert (batch.accepted, batch.merged, batch.refused, batch.fields_dropped) == (2, 0, 2, 2)


def test_suppressed_addresses_are_refused_and_stay_unsendable(
    db_session: Session, settings: Settings
) -> None:
    contacts.suppress(db_session, address_hash(settings.hash_key, "gone@example.org"), "email", "erasure")
    contacts.suppress(db_session, address_hash(settings.hash_key, "+33612345678"), "sms", "hard_bounce")
    content = csv_bytes(
        "email,phone", "GONE@example.org,", "fresh@example.org,+33 6 12 34 56 78", "ok@example.org,"
    )

    batch = run(db_session, settings, content)

    lines = report(db_session, batch)
    assert lines[0][:3] == (2, "refused", "email") and "suppression list (erasure)" in lines[0][3]
    assert lines[1][:3] == (3, "refused", "phone") and "suppression list (hard_bounce)" in lines[1][3]
    assert contact(db_session, "gone@example.org") is None
    assert contact(db_session, "fresh@example.org") is None
    assert batch.accepted == 1 and batch.refused == 2


def test_duplicates_in_the_file_are_merged_filling_blanks(db_session: Session, settings: Settings) -> None:
    content = csv_bytes(
        "email,phone,first_name,last_name",
        "ann@example.org,,Ann,",
        "ANN@Example.org,0612345678,Annie,Roy",  # same person: fills blanks, keeps Ann
        ",+33 6 12 34 56 78,,",  # same phone: same person
        "zoe@example.org,0612345678,Zoé,",  # phone already given to row 2's person
    )

    batch = run(db_session, settings, content)

    assert report(db_session, batch) == [
        (2, "accepted", "", ""),
        (3, "merged", "email", "same person as row 2"),
        (4, "merged", "phone", "same person as row 2"),
        (5, "accepted", "", ""),
        (5, "accepted", "phone", "belongs to another contact (row 2); left out; field left empty"),
    ]
    ann = contact(db_session, "ann@example.org")
    assert ann is not None
    assert (ann.first_name, ann.last_name, ann.phone) == ("Ann", "Roy", "+33612345678")
    zoe = contact(db_session, "zoe@example.org")
    assert zoe is not None and zoe.phone is None
    assert _count(db_session, Contact) == 2


def test_duplicates_across_chunks_are_merged(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    content = csv_bytes(
        "email,first_name", "a@example.org,", "b@example.org,B", "c@example.org,C", "a@example.org,Ann"
    )

    dry = run(db_session, settings, content, mode="analyse")
    batch = run(db_session, settings, content + b"d@example.org,D\r\n")

    assert report(db_session, dry)[3] == (5, "merged", "email", "same person as row 2")
    assert report(db_session, batch)[3] == (5, "merged", "email", "same person as row 2")
    ann = contact(db_session, "a@example.org")
    assert ann is not None and ann.first_name == "Ann"
    assert (batch.accepted, batch.merged) == (4, 1)


def test_existing_contacts_are_merged_never_overwritten(db_session: Session, settings: Settings) -> None:
    ContactFactory(
        email="ann@example.org", first_name="Ann", last_name=None, phone=None, attributes={"tier": "gold"}
    )
    ContactFactory(email="bob@example.org", phone="+33612345678")
    content = csv_bytes(
        "email,phone,first_name,last_name,tier,city",
        "ann@example.org,0699999999,Annie,Roy,silver,Lyon",
        "new@example.org,0612345678,New,,,",  # Bob's phone: left out
    )

    batch = run(db_session, settings, content, mapping={"tier": "attributes.tier", "city": "attributes.city"})

    ann = contact(db_session, "ann@example.org")
    assert ann is not None
    db_session.refresh(ann)
    assert (ann.first_name, ann.last_name, ann.phone) == ("Ann", "Roy", "+33699999999")
    assert ann.attributes == {"tier": "gold", "city": "Lyon"}
    assert not ann.is_legacy and ann.source == "api"  # a merge does not requalify anyone as legacy
    lines = report(db_session, batch)
    assert lines[0] == (2, "merged", "email", "an existing contact: empty fields filled in")
    assert lines[2][:3] == (3, "accepted", "phone") and "belongs to another contact" in lines[2][3]


def test_a_restricted_contact_is_left_unchanged(db_session: Session, settings: Settings) -> None:
    ContactFactory(email="held@example.org", status="restricted", last_name=None)

    batch = run(db_session, settings, csv_bytes("email,last_name", "held@example.org,Roy"))

    assert report(db_session, batch) == [
        (2, "refused", "", "the matching contact is restricted: left unchanged")
    ]
    held = contact(db_session, "held@example.org")
    assert held is not None and held.last_name is None


# --- provenance, consent and legacy --------------------------------------------------------------------


def test_without_proof_new_contacts_are_legacy_and_no_campaign_reaches_them(
    db_session: Session, settings: Settings
) -> None:
    purpose = newsletter()

    batch = run(db_session, settings, csv_bytes("email", "old@example.org"), data=UNQUALIFIED)

    old = contact(db_session, "old@example.org")
    assert old is not None and old.is_legacy and old.source == "import"
    assert old.source_detail == f"import batch {batch.id}"
    assert gate.check(db_session, old.id, purpose.id, "email").reason == "no_consent"
    assert _count(db_session, ConsentEvent) == 0


def test_with_proof_each_row_gets_a_consent_event_with_the_batch_provenance(
    db_session: Session, settings: Settings
) -> None:
    purpose = newsletter()
    data = proof(purpose, partner="Salons SA", partner_named_sender="true", channels="email,sms")

    batch = run(
        db_session,
        settings,
        csv_bytes("email,phone", "new@example.org,0612345678", "mail@example.org,"),
        data=data,
    )

    new = contact(db_session, "new@example.org")
    assert new is not None and not new.is_legacy
    assert gate.check(db_session, new.id, purpose.id, "email").eligible
    assert gate.check(db_session, new.id, purpose.id, "sms").eligible
    events = db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == new.id)).all()
    assert {e.channel for e in events} == {"email", "sms"}
    event = events[0]
    assert (event.action, event.source, event.mechanism, event.actor) == (
        "grant",
        "import",
        "checkbox",
        "user:1",
    )
    assert event.occurred_at == datetime(2026, 3, 14)
    assert event.collection_point == "salon-2026-stand (partner: Salons SA)"
    assert event.evidence == {"import_batch": str(batch.id)}
    assert event.wording_id is not None
    assert batch.consents_recorded == 3  # the second row has no phone: no SMS consent


def test_an_import_never_lifts_a_withdrawal_nor_lowers_a_later_grant(
    db_session: Session, settings: Settings
) -> None:
    purpose = newsletter()
    gone = ContactFactory(email="gone@example.org")
    kept = ContactFactory(email="kept@example.org")
    ledger.record(
        db_session,
        gone,
        purpose,
        channel="email",
        action="withdraw",
        source="portal",
        mechanism="form",
        actor="t",
        at=datetime(2026, 1, 1),
    )
    ledger.record(
        db_session,
        kept,
        purpose,
        channel="email",
        action="grant",
        source="form",
        mechanism="double_opt_in",
        actor="t",
        wording_version=1,
        at=datetime(2026, 5, 1),
    )

    dry = run(
        db_session,
        settings,
        csv_bytes("email", "gone@example.org", "kept@example.org"),
        "analyse",
        proof(purpose),
    )
    batch = run(
        db_session,
        settings,
        csv_bytes("email", "gone@example.org", "kept@example.org", "x@example.org"),
        data=proof(purpose),
    )

    withdrawn = (
        2,
        "merged",
        "consent",
        "email: the contact withdrew this consent; an import never lifts a withdrawal",
    )
    assert withdrawn in report(db_session, dry) and withdrawn in report(db_session, batch)
    assert gate.check(db_session, gone.id, purpose.id, "email").reason == "withdrawn"
    state = db_session.get(ConsentState, (kept.id, purpose.id, "email"))
    assert state is not None and state.status == "granted" and state.since == datetime(2026, 5, 1)
    assert (dry.consents_recorded, batch.consents_recorded) == (1, 2)


def test_consent_claims_need_the_whole_proof(db_session: Session, settings: Settings) -> None:
    purpose = newsletter()
    bad = {
        "source": "",
        "legal_basis": "consent",
        "purpose": purpose.slug,
        "wording_version": 7,
        "collected_on": "2999-01-01",
        "mechanism": "pre_ticked",
        "partner": "Broker",
    }

    with pytest.raises(ValidationFailed) as caught:
        create(db_session, settings, csv_bytes("email", "a@example.org"), bad)

    assert set(caught.value.errors) == {
        "source",
        "wording_version",
        "collected_on",
        "mechanism",
        "partner_named_sender",
    }
    assert _count(db_session, ImportBatch) == 0


# --- dry run, commit, report ------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_but_its_report(db_session: Session, settings: Settings) -> None:
    purpose = newsletter()
    before = _count(db_session, Contact)

    batch = run(
        db_session, settings, csv_bytes("email,phone", "a@example.org,12", "bad,"), "analyse", proof(purpose)
    )

    assert batch.status == "analysed"
    assert (_count(db_session, Contact), _count(db_session, ConsentEvent)) == (before, 0)
    assert [line[1] for line in report(db_session, batch)] == ["accepted", "accepted", "refused"]
    assert (batch.accepted, batch.refused, batch.fields_dropped, batch.consents_recorded) == (1, 1, 1, 1)

    imports.run(db_session, settings, batch, "commit")
    assert batch.status == "committed" and contact(db_session, "a@example.org") is not None


def test_a_file_is_committed_once(db_session: Session, settings: Settings) -> None:
    content = csv_bytes("email", "a@example.org")
    first = create(db_session, settings, content)
    second = create(db_session, settings, content)
    imports.run(db_session, settings, first, "commit")

    with pytest.raises(Conflict, match="already committed"):
        imports.run(db_session, settings, first, "commit")
    with pytest.raises(Conflict, match="already being imported or was imported"):
        imports.run(db_session, settings, second, "commit")
    with pytest.raises(Conflict, match=f"already imported \\(batch {first.id}\\)"):
        create(db_session, settings, content)
    assert _count(db_session, Contact) == 1


def test_the_csv_report_neutralises_formulas(db_session: Session, settings: Settings) -> None:
    batch = run(
        db_session,
        settings,
        csv_bytes("=HYPERLINK(1)|email", "x|a@example.org", "y|@bad"),
        mapping={"=HYPERLINK(1)": "first_name"},
    )

    text = "".join(import_report.csv_chunks(db_session, batch.id))

    assert text.splitlines()[0] == "row,outcome,column,reason"
    assert "3,refused,email," in text
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")
    assert import_report.safe_cell("-1+2") == "'-1+2" and import_report.safe_cell("\tx") == "'\tx"
    assert import_report.safe_cell("Roy") == "Roy"


def test_the_file_is_stored_in_chunks_and_read_back_whole(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sender.services.audience import csvfile

    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 7)
    content = csv_bytes("email,first_name", *(f"p{i}@example.org,Zoé" for i in range(50)))

    batch = run(db_session, settings, content)

    assert batch.file_size == len(content) and batch.accepted == 50
    assert contact(db_session, "p49@example.org") is not None
    assert io.BytesIO(content).getvalue().count(b"\n") == 51


def test_a_dry_run_predicts_the_consents_a_commit_records(db_session: Session, settings: Settings) -> None:
    purpose = newsletter()
    content = csv_bytes("email", "a@example.org", "A@example.org", "b@example.org")

    predicted = run(db_session, settings, content, "analyse", proof(purpose)).consents_recorded
    batch = run(db_session, settings, content, "commit", proof(purpose))

    assert predicted == batch.consents_recorded == 2
    assert _count(db_session, ConsentEvent) == 2


def test_consent_collected_today_in_paris_is_not_in_the_future_just_after_midnight(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 00:30 in Paris is 23:30 UTC the day before: the organisation's today is the date people write.
    purpose = newsletter()
    move_clock(monkeypatch, PARIS_HALF_PAST_MIDNIGHT)
    with pytest.raises(ValidationFailed) as caught:
        import_provenance.validate(db_session, proof(purpose, collected_on=PARIS_TOMORROW))
    assert set(caught.value.errors) == {"collected_on"}
    declared = import_provenance.validate(db_session, proof(purpose, collected_on=PARIS_TODAY))
    assert declared["collected_on"].isoformat() == PARIS_TODAY
