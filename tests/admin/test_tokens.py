"""API tokens act for their owner: nobody, admin included, may issue one for someone else (issue 15, item 13)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ApiToken
from sender.runtime import Runtime
from sender.services.campaigns import requalify
from tests.admin.conftest import post
from tests.factories import PurposeFactory, WordingFactory

ISSUED = re.compile(r'<code id="issued-token">([^<]+)</code>')


def test_an_admin_cannot_approve_their_own_cycle_with_a_token_issued_for_the_dpo(
    client_as: Callable[[str], FlaskClient], staff: dict[str, Any], db_session: Session, runtime: Runtime
) -> None:
    legacy = PurposeFactory(slug="legacy")
    WordingFactory(purpose=legacy)
    draft = requalify.Draft("Again", legacy.slug, "Still in?", "{{ confirm_url }}")
    cycle = requalify.create(db_session, runtime.settings, draft, f"user:{staff['admin'].id}")
    db_session.commit()
    admin = client_as("admin")

    # The old form's user field, naming the DPO, is posted by hand.
    page = post(
        admin,
        "/admin/staff/tokens",
        {"name": "approvals", "user_id": staff["dpo"].id},
        token_page="/admin/staff",
    )

    assert page.status_code == 200
    found = ISSUED.search(page.get_data(as_text=True))
    assert found is not None
    owners = db_session.scalars(select(ApiToken.user_id)).all()
    assert owners == [staff["admin"].id]  # the token is the admin's own
    approval = admin.post(
        f"/api/v1/campaigns/{cycle.id}/approval",
        json={"note": "looks fine"},
        headers={"Authorization": f"Bearer {found.group(1)}"},
    )
    assert approval.status_code == 403  # the admin wrote the cycle: separate approval holds
    db_session.expire_all()
    assert requalify.cycle_of(db_session, cycle).approved_at is None


def test_the_token_form_offers_no_other_owner(client_as: Callable[[str], FlaskClient]) -> None:
    body = client_as("admin").get("/admin/staff").get_data(as_text=True)
    form = body[body.index('action="/admin/staff/tokens"') :]
    assert 'name="user_id"' not in form
