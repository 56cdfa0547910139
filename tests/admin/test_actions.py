"""run_action: a form's or a button's one way to call a service; the request's unit of work commits."""

from __future__ import annotations

from flask import Flask, get_flashed_messages
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ContactList
from sender.services.errors import Conflict
from sender.web.admin.forms import run_action
from sender.web.session import get_session


def _add_list(name: str, refuse: bool) -> ContactList:
    made = ContactList(name=name, description="")
    get_session().add(made)
    get_session().flush()
    if refuse:
        raise Conflict("refused after writing")
    return made


def _route(app: Flask) -> None:
    def act(name: str, refuse: int) -> ResponseReturnValue:
        return run_action(
            lambda: _add_list(name, bool(refuse)),
            success=lambda made: f"made {made.name}",
            redirect_to=lambda made: f"/done/{made.id}",
            refused="/again",
        )

    def flashes() -> ResponseReturnValue:
        return {"flashes": get_flashed_messages(with_categories=True)}

    app.add_url_rule("/test/act/<name>/<int:refuse>", "test_act", act, methods=["POST"])
    app.add_url_rule("/test/flashes", "test_flashes", flashes)


def test_a_success_is_committed_flashed_and_redirected(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    _route(app)
    response = client.post("/test/act/kept/0")
    made = db_session.scalars(select(ContactList).where(ContactList.name == "kept")).one()
    assert response.status_code == 302 and response.headers["Location"] == f"/done/{made.id}"
    assert client.get("/test/flashes").get_json() == {"flashes": [["success", "made kept"]]}


def test_a_refusal_keeps_nothing_even_though_the_answer_is_a_redirect(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    _route(app)
    response = client.post("/test/act/dropped/1")
    assert response.status_code == 302 and response.headers["Location"] == "/again"
    assert client.get("/test/flashes").get_json() == {"flashes": [["error", "refused after writing"]]}
    assert db_session.scalars(select(ContactList).where(ContactList.name == "dropped")).first() is None
