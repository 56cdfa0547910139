"""What the API keeps when a call is refused: the token's use, and none of the refused call's writes."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Contact
from sender.models.users import ApiToken
from tests.api.helpers import PREFIX, Api


def _last_used(db_session: Session) -> list[object]:
    db_session.expire_all()
    return list(db_session.scalars(select(ApiToken.last_used_at)))


def test_token_use_is_kept_when_the_call_is_refused(
    client: FlaskClient, dpo_headers: dict[str, str], db_session: Session
) -> None:
    assert _last_used(db_session) == [None]
    response = client.post(f"{PREFIX}/contacts", json={"email": "a@example.org"}, headers=dpo_headers)
    assert response.status_code == 403
    assert _last_used(db_session) != [None]


def test_token_use_is_kept_but_a_refused_write_leaves_nothing(api: Api, db_session: Session) -> None:
    api.post("/contacts", {"email": "not an address"}, 422)
    assert _last_used(db_session) != [None]
    assert db_session.scalar(select(func.count()).select_from(Contact)) == 0
