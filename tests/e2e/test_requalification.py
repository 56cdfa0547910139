"""Done-when of requalification: 1,000 legacy contacts through a whole cycle, real processes and SMTP server.

Two `sender requalify run` at once, `python worker.py --burst`, answers through the public pages, a second
run that sends nothing, then the deadline (injected clock): the silent are erased and nothing of them but
the keyed hash remains in any table or in Redis.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from sender.addresses import address_hash
from sender.db import Base, utcnow
from sender.models import ConsentEvent, Contact, Requalification, Suppression
from sender.services.accounts import users
from sender.services.campaigns import requalify_cycle
from tests.e2e.conftest import ROOT
from tests.factories import TEST_HASH_KEY, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e

LEGACY = 1_000
CONFIRMERS = range(0, 300)
DECLINERS = range(300, 400)
SENDER = str(Path(sys.executable).parent / "sender")
LINK = re.compile(r"https://sender\.test(/requalify/(confirm|decline)/\S+)")


def _cron(stack) -> subprocess.Popen[str]:
    """`sender requalify run`, as the crontab in the README starts it."""
    return subprocess.Popen(
        [SENDER, "requalify", "run"],
        cwd=ROOT,
        env=stack.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _asked(output: str) -> int:
    match = re.search(r"\basked=(\d+)", output)
    return int(match.group(1)) if match else 0


def _links(stack) -> dict[str, dict[str, str]]:
    """Per recipient, the confirm and decline paths found in the plain-text part of their message."""
    found: dict[str, dict[str, str]] = {}
    for received in stack.mail.messages:
        body = received.message().get_body(("plain",)).get_content()
        for path, answer in LINK.findall(body):
            found.setdefault(received.rcpt_tos[0], {})[answer] = path
    return found


def test_a_thousand_legacy_contacts_through_a_full_cycle(stack):
    session = stack.session
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    emails = [f"legacy{i:04d}@example.org" for i in range(LEGACY)]
    session.execute(
        insert(Contact),
        [
            {
                "public_id": f"legacy-{i:04d}",
                "email": email,
                "email_hash": address_hash(TEST_HASH_KEY, email),
                "first_name": f"Prénom{i}",
                "last_name": f"Nom{i}",
                "attributes": {},
                "source": "import",
                "status": "active",
                "is_legacy": True,
            }
            for i, email in enumerate(emails)
        ],
    )
    dpo = users.create_user(session, "dpo@exemple.org", "dpo", "correct horse battery")
    dpo_headers = {"Authorization": f"Bearer {users.issue_token(session, dpo).value}"}
    session.commit()

    created = stack.api(
        "POST",
        "/requalifications",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "subject": "Souhaitez-vous continuer à recevoir notre lettre ?",
            "body_text": "Bonjour {{ contact.first_name }},\nvotre accord compte pour nous.\n",
            "deadline": (utcnow() + timedelta(days=30)).isoformat() + "Z",
        },
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["campaign_id"]
    approval = stack.client.post(
        f"/api/v1/campaigns/{cid}/approval", json={"note": "DPO file 42"}, headers=dpo_headers
    )
    assert approval.status_code == 200, approval.get_json()
    assert stack.api("POST", f"/campaigns/{cid}/send").status_code == 202

    # Two cron runs at once: the lock lets one ask; together they ask each contact once.
    first, second = _cron(stack), _cron(stack)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert sum(_asked(out) for out, _ in outputs) == LEGACY, outputs
    stack.worker(timeout=600)
    assert Counter(r for m in stack.mail.messages for r in m.rcpt_tos) == Counter(emails)

    # A run in between sends nothing more.
    again = _cron(stack)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and _asked(out) == 0, (out, err)
    stack.worker(timeout=600)
    assert len(stack.mail.messages) == LEGACY

    # Answers through the public pages: the GET changes nothing, the button POSTs.
    links = _links(stack)
    assert len(links) == LEGACY and all(set(v) == {"confirm", "decline"} for v in links.values())
    assert stack.client.get(links[emails[0]]["confirm"]).status_code == 200
    assert session.scalar(select(ConsentEvent.id).limit(1)) is None
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    for i in CONFIRMERS:
        assert stack.client.post(links[emails[i]]["confirm"]).status_code == 200
    for i in DECLINERS:
        assert stack.client.post(links[emails[i]]["decline"]).status_code == 200
    funnel = stack.api("GET", f"/requalifications/{cid}").get_json()["funnel"]
    assert (funnel["asked"], funnel["confirmed"], funnel["declined"], funnel["waiting"]) == (
        1000,
        300,
        100,
        600,
    )

    # The deadline passes (injected clock): the silent are erased.
    session.expire_all()
    cycle = session.get(Requalification, cid)
    session.commit()
    report = requalify_cycle.run(stack.runtime, now=cycle.deadline + timedelta(minutes=1))
    assert report.closed == {"erased": 600}
    funnel = stack.api("GET", f"/requalifications/{cid}").get_json()["funnel"]
    assert funnel["expired"] == {"erased": 600, "archived": 0} and funnel["waiting"] == 0
    session.expire_all()
    statuses = Counter(session.scalars(select(Contact.status)))
    assert statuses == Counter({"active": 400, "erased": 600})
    grants = session.scalars(select(ConsentEvent).where(ConsentEvent.action == "grant")).all()
    assert len(grants) == 300 and {g.source for g in grants} == {"requalification"}
    session.commit()

    # Nothing of the silent remains but the keyed hash on the suppression list, in any table or in Redis.
    silent = [i for i in range(LEGACY) if i not in CONFIRMERS and i not in DECLINERS]
    needles = set()
    for i in silent:
        needles |= {emails[i], f"Prénom{i}", f"Nom{i}"}
    hashes = {address_hash(TEST_HASH_KEY, emails[i]) for i in silent}
    with stack.runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                cells = {str(value) for value in row}
                assert not cells & needles, table.name
                if table.name != Suppression.__tablename__:
                    assert not cells & hashes, table.name
        suppressed = set(conn.execute(text("SELECT address_hash FROM suppressions")).scalars())
    assert hashes <= suppressed
    redis = stack.runtime.redis
    for key in redis.scan_iter(match="rq:*"):
        if redis.type(key) == b"hash":
            blob = b" ".join(redis.hgetall(key).values())
            assert not any(email.encode() in blob for email in (emails[i] for i in silent)), key
