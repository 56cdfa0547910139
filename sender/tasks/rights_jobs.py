"""RQ jobs sending the system messages of the public pages: ids in, one service call each."""

from __future__ import annotations

from typing import Any

from flask import current_app

from sender.runtime import Runtime
from sender.services.rights import dispatch


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["sender"]
    return runtime


def send_portal_link(contact_id: int) -> dict[str, Any]:
    """Email a fresh privacy-portal link to the contact's own address (R36)."""
    return dispatch.portal_link(_runtime(), contact_id)


def send_signup_confirmation(
    contact_id: int | None, wording_ids: list[int], channel: str = "email"
) -> dict[str, Any]:
    """Send the double opt-in confirmation link of a sign-up on its channel, if it asks anything."""
    return dispatch.signup_confirmation(_runtime(), contact_id, [int(w) for w in wording_ids], channel)


def send_erasure_confirmation(contact_id: int) -> dict[str, Any]:
    """Send the one-use link confirming an erasure to the person's own address (email, else SMS)."""
    return dispatch.erasure_confirmation(_runtime(), contact_id)


def send_address_confirmation(change_id: int) -> dict[str, Any]:
    """Send the link confirming a corrected address to that new address, over its own channel."""
    return dispatch.address_confirmation(_runtime(), change_id)
