"""The sequence pages through HTTP: the builder with several steps, refusals shown, the page and its chart."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Sequence
from tests.admin.conftest import post
from tests.factories import PurposeFactory, WordingFactory

FORM = {
    "name": "Welcome series",
    "purpose": "news",
    "trigger": "consent",
    "steps-0-channel": "email",
    "steps-0-delay_value": "0",
    "steps-0-delay_unit": "hours",
    "steps-0-subject": "Welcome {{ contact.first_name }}",
    "steps-0-body_source": "# Welcome\n\nThank you.",
    "steps-1-channel": "email",
    "steps-1-delay_value": "3",
    "steps-1-delay_unit": "days",
    "steps-1-at_time": "09:00",
    "steps-1-subject": "Tips",
    "steps-1-body_source": "Three tips.",
}


def test_the_builder_saves_the_steps_in_order_and_the_page_shows_them(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    WordingFactory(purpose=PurposeFactory(slug="news"))
    db_session.commit()
    client = client_as("marketer")
    saved = post(client, "/admin/sequences/new", FORM, token_page="/admin/sequences/new")
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    sequence = db_session.scalar(select(Sequence))
    assert sequence is not None
    assert [(s.position, s.delay_value, s.at_time) for s in sequence.steps] == [(0, 0, None), (1, 3, "09:00")]
    page = client.get(saved.headers["Location"])
    assert page.status_code == 200, page.get_data(as_text=True)[:3000]
    text = page.get_data(as_text=True)
    assert "Tips" in text and "then at 09:00" in text
    step = client.get(f"/admin/sequences/{sequence.id}/steps/1")
    assert step.status_code == 200 and "Thank you." in step.get_data(as_text=True)
    assert client.get(f"/admin/sequences/{sequence.id}/steps/9").status_code == 404


def test_a_refused_step_is_shown_and_nothing_is_saved(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    WordingFactory(purpose=PurposeFactory(slug="news"))
    db_session.commit()
    client = client_as("marketer")
    refused = post(
        client,
        "/admin/sequences/new",
        {**FORM, "steps-1-at_time": "25:00"},
        token_page="/admin/sequences/new",
    )
    assert refused.status_code == 422
    assert "must be a time of day" in refused.get_data(as_text=True)
    assert db_session.scalar(select(Sequence)) is None
