"""Fuzz every public form: sign-up (form and JSON), access, the portal's actions, unsubscribe, requalification.

Each form's valid fields are replaced by hostile values (tests/fuzz_values.py), and the tokens in paths by
hostile text; the portal gets a fresh token for every example, so its actions are reached. No answer may be a
5xx, and a refusal (4xx) leaves every table as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from sender.runtime import Runtime
from sender.services.consent.links import portal_token, unsubscribe_token
from sender.services.consent.requalify_links import AskLink, answer_url
from tests.db_snapshot import RefusalsChangeNothing
from tests.fuzz_values import (
    FORM_FIELD,
    FORM_TEXT,
    HOSTILE_INT,
    HOSTILE_TEXT,
    JSON_VALUES,
    bounded,
    form_body,
    overrides,
)
from tests.public.conftest import World

EXAMPLES_PER_FORM = 15
EXAMPLES_PER_ACTION = 10
PORTAL_ACTIONS = [
    "open", "withdraw", "grant", "stop_all", "lift_objection", "rectify", "restrict", "lift_restriction",
    "report", "export_json", "export_csv", "erase",
]  # fmt: skip
PORTAL_FIELDS = [
    "purpose",
    "channel",
    "wording_version",
    "first_name",
    "last_name",
    "email",
    "phone",
    "locale",
    "confirm",
]
# The fields each action reads (the other actions get any of them).
ACTION_FIELDS = {
    "withdraw": ["purpose", "channel"],
    "grant": ["purpose", "channel", "wording_version"],
    "rectify": ["first_name", "last_name", "email", "phone", "locale"],
    "erase": ["confirm"],
}


def _checked(guard: RefusalsChangeNothing, send: Callable[[], TestResponse]) -> None:
    """Send one request: never a 5xx, and a refusal changes no table."""
    guard.before()
    response = send()
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    guard.after(response.status_code)


def _form(client: FlaskClient, path: str, fields: dict[str, Any]) -> Callable[[], TestResponse]:
    return lambda: client.post(path, data=form_body(fields), content_type="application/x-www-form-urlencoded")


def test_the_sign_up_form_and_the_access_form(client: FlaskClient, db_session: Session, world: World) -> None:
    guard = RefusalsChangeNothing(db_session)

    @bounded(EXAMPLES_PER_FORM)
    @given(changes=overrides(["email", "consent", "locale", "website"]))
    def sign_up(changes: dict[str, Any]) -> None:
        base = {"email": "new@example.org", "consent": ["news:1", "offers:1"], "locale": "fr"}
        _checked(guard, _form(client, "/signup", {**base, **changes}))

    @bounded(EXAMPLES_PER_FORM)
    @given(changes=overrides(["email", "website"]))
    def access(changes: dict[str, Any]) -> None:
        _checked(guard, _form(client, "/access", {"email": "camille.martin@example.org", **changes}))

    sign_up()
    access()


CHOICE = st.fixed_dictionaries(
    {},
    optional={
        "purpose": st.one_of(st.just("news"), HOSTILE_TEXT, JSON_VALUES),
        "wording_version": st.one_of(st.just(1), HOSTILE_INT, JSON_VALUES),
    },
)
SIGNUP_JSON = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(st.just("new@example.org"), HOSTILE_TEXT, JSON_VALUES),
        "consents": st.one_of(st.lists(CHOICE, max_size=3), JSON_VALUES),
        "locale": st.one_of(st.just("fr"), HOSTILE_TEXT, JSON_VALUES),
        "extra": JSON_VALUES,
    },
)


def test_the_sign_up_json(client: FlaskClient, db_session: Session, world: World) -> None:
    guard = RefusalsChangeNothing(db_session)

    @bounded(EXAMPLES_PER_FORM * 2)
    @given(body=st.one_of(SIGNUP_JSON, JSON_VALUES))
    def sign_up(body: Any) -> None:
        # ensure_ascii sends lone surrogates as the \\ud800 escapes a hostile client would write.
        data = json.dumps(body, ensure_ascii=True)
        _checked(guard, lambda: client.post("/signup", data=data, content_type="application/json"))

    sign_up()
    deep = '{"email": "a@example.org", "consents": ' + "[" * 50_000 + "]" * 50_000 + "}"
    _checked(guard, lambda: client.post("/signup", data=deep, content_type="application/json"))


def _fuzz_portal(
    client: FlaskClient, guard: RefusalsChangeNothing, runtime: Runtime, world: World, action: str | None
) -> None:
    """One action's examples, mostly with a fresh token (so that the action is reached); None: hostile actions."""
    person = world.contact.public_id
    names = ACTION_FIELDS.get(action or "", PORTAL_FIELDS)

    @bounded(EXAMPLES_PER_ACTION)
    @given(
        changes=overrides(names),
        token=st.one_of(st.none(), st.none(), st.none(), FORM_FIELD),
        hostile=FORM_FIELD,
    )
    def act(changes: dict[str, Any], token: Any, hostile: Any) -> None:
        if action == "erase" and changes.get("confirm") == "yes":
            changes.pop("confirm")  # an erasure would end the portal for every later example
        fields = {
            "token": portal_token(runtime.tokens, person) if token is None else token,
            "action": hostile if action is None else action,
            "purpose": str(world.offers.id),
            "channel": "email",
            "wording_version": "1",
            **changes,
        }
        _checked(guard, _form(client, "/portal", fields))

    act()


def test_every_portal_action(
    client: FlaskClient, db_session: Session, runtime: Runtime, world: World
) -> None:
    guard = RefusalsChangeNothing(db_session)
    for action in [*PORTAL_ACTIONS, None]:
        _fuzz_portal(client, guard, runtime, world, action)


def test_unsubscribe_requalification_and_confirmation_links(
    client: FlaskClient, db_session: Session, runtime: Runtime, world: World
) -> None:
    guard = RefusalsChangeNothing(db_session)
    person = world.contact.public_id
    unsubscribe = unsubscribe_token(runtime.tokens, person, world.news.id, "email", None)

    @bounded(EXAMPLES_PER_FORM)
    @given(
        token=st.one_of(st.just(unsubscribe), FORM_TEXT),
        changes=overrides(["action", "List-Unsubscribe"]),
    )
    def unsubscribe_post(token: str, changes: dict[str, Any]) -> None:
        _checked(guard, _form(client, f"/u/{quote(token, safe='') or 'x'}", changes))

    @bounded(EXAMPLES_PER_FORM)
    @given(
        answer=st.one_of(st.sampled_from(["confirm", "decline"]), FORM_TEXT),
        signed=st.booleans(),
        token=FORM_TEXT,
    )
    def requalify(answer: str, signed: bool, token: str) -> None:
        if signed and answer in ("confirm", "decline"):
            # Well signed, for a cycle that does not exist.
            link = answer_url(
                runtime.settings, runtime.tokens, answer, AskLink(person, 999_999, world.news.id)
            )
            path = link.removeprefix(runtime.settings.public_base_url)
        else:
            path = f"/requalify/{quote(answer, safe='') or 'x'}/{quote(token, safe='') or 'x'}"
        _checked(guard, _form(client, path, {"answer": token}))

    @bounded(EXAMPLES_PER_FORM)
    @given(token=FORM_TEXT)
    def confirm(token: str) -> None:
        _checked(guard, _form(client, f"/signup/confirm/{quote(token, safe='') or 'x'}", {}))

    unsubscribe_post()
    requalify()
    confirm()
