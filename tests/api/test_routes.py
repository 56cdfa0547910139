"""The route table and the request's unit of work: what the API keeps when a call is refused."""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Contact
from sender.models.users import ApiToken
from sender.web.api.routes import ROUTES
from sender.web.api.routing import Answer, Route, add_routes, tagged
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


def _view() -> str:
    return "ok"


def test_a_write_without_a_permission_is_refused_at_start() -> None:
    (route,) = tagged("t", {}, Route("POST /things", _view, "createThing", "Create", Answer(201, "Created")))
    with pytest.raises(ValueError, match="permission"):
        add_routes(Blueprint("t", __name__), [route])


def test_a_path_parameter_without_a_description_is_refused_at_start() -> None:
    (route,) = tagged(
        "t", {}, Route("GET /things/<id:thing_id>", _view, "getThing", "Get", Answer(200, "One"))
    )
    with pytest.raises(ValueError, match="thing_id"):
        add_routes(Blueprint("t", __name__), [route])


def test_each_view_serves_one_route() -> None:
    assert len({route.endpoint for route in ROUTES}) == len(ROUTES)
