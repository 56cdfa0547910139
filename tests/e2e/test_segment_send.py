"""A campaign to a segment made of OR groups, planned and sent through a real worker to the SMTP wire."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from sender.models import Segment
from sender.services.accounts import users
from sender.services.audience import segments
from tests.admin.conftest import post, sign_in
from tests.admin.test_segments import FORM, people_in_and_out
from tests.campaign_helpers import grant
from tests.factories import ListFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e


def test_a_campaign_to_an_or_segment_reaches_exactly_its_members(stack) -> None:  # type: ignore[no-untyped-def]
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    people = people_in_and_out(stack.session)
    for contact in people.values():
        grant(stack.session, contact, purpose)
    empty_list = ListFactory()
    stack.session.commit()
    users_client = stack.client
    users.create_user(stack.session, "m@exemple.org", "marketer", "correct horse battery staple")
    stack.session.commit()
    assert sign_in(users_client, "m@exemple.org", "correct horse battery staple").status_code == 302
    saved = post(users_client, "/admin/segments/new", FORM, token_page="/admin/segments/new")
    assert saved.status_code == 302
    segment_id = stack.session.scalars(select(Segment.id)).one()
    stack.session.commit()  # end the read: on SQLite an open transaction holds the lock
    created = stack.api(
        "POST",
        "/campaigns",
        {
            "name": "Acme news",
            "subject": "News",
            "body_text": "Hello",
            "body_html": "<p>Hello</p>",
            "purpose": purpose.slug,
            "lists": [empty_list.id],
        },
    )
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["id"]
    segments.set_for_campaign(stack.session, campaign_id, [segment_id])
    stack.session.commit()

    sent = stack.api("POST", f"/campaigns/{campaign_id}/send")
    assert sent.status_code == 202, sent.get_json()
    stack.worker()

    received = Counter(r for m in stack.mail.messages for r in m.rcpt_tos)
    assert received == Counter({people[k].email: 1 for k in ("acme_fr", "vip", "both")})
