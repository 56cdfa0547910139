"""A refused sign-up form keeps what the person typed and ticked, and says why at the field, in their language."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.public.conftest import World


def test_a_refused_sign_up_keeps_the_typed_address_and_says_why_at_the_field(
    client: FlaskClient, world: World
) -> None:
    # No box ticked: the address was fine, so it stays in its box.
    answer = client.post(
        "/signup", data={"email": "jeanne.dupont@exemple.org"}, headers={"Accept-Language": "fr"}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'value="jeanne.dupont@exemple.org"' in page
    assert (
        '<p class="error" id="consents-error" role="alert" style="color:#b3261e">cochez au moins une finalité</p>'
        in page
    )
    assert "consents:" not in page

    # A mistyped address: it is kept to be corrected, the ticked box stays ticked, the reason is at the address.
    answer = client.post(
        "/signup", data={"email": "jeanne.dupont@", "consent": "news:1"}, headers={"Accept-Language": "en"}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'value="jeanne.dupont@" aria-invalid="true" aria-describedby="email-error"' in page
    assert 'id="email-error" role="alert" style="color:#b3261e">Enter a valid email address' in page
    assert 'value="news:1" checked' in page
    assert "email:" not in page
