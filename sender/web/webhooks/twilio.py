"""Twilio webhooks: replies to our numbers and message status callbacks, both signed by Twilio (R61).

Twilio signs the exact URL it called with the auth token. Behind a TLS-terminating proxy this app sees
another scheme, host or port, so the signature is checked against PUBLIC_BASE_URL + path + query first
(the URL configured in the Twilio console), then against the URL as the request shows it (right when the
app runs behind ProxyFix or without a proxy). Anything else gets 403, and nothing is read from it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from sender.channels.sms.assemble import INBOUND_PATH, STATUS_CALLBACK_PATH
from sender.services.campaigns import delivery_status
from sender.services.consent import sms_replies
from sender.web.session import get_session, runtime

bp = Blueprint("twilio_webhooks", __name__)
log = logging.getLogger(__name__)


def _public_url() -> str:
    """The URL Twilio called, as the public site spells it."""
    query = request.query_string.decode()
    return f"{runtime().settings.public_base_url}{request.path}{'?' + query if query else ''}"


def _signed() -> bool:
    """Whether X-Twilio-Signature matches the request under the auth token."""
    token = runtime().settings.sms.auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    validator = RequestValidator(token)
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    params: object = request.get_data(as_text=True) if request.is_json else request.form
    return any(validator.validate(url, params, signature, algorithm) for url in (_public_url(), request.url))


@bp.before_request
def _require_signature() -> None:
    if not _signed():
        log.warning("twilio webhook %s refused: bad or missing signature", request.path)
        abort(403)


def _twiml(text: str | None) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), mimetype="text/xml")


@bp.post(INBOUND_PATH)
def inbound() -> ResponseReturnValue:
    """An SMS a person sent us: keywords act at once; the answer is TwiML (no call to Twilio from here).

    The request's work is committed before Twilio hears back: a withdrawal never waits on anything else.
    """
    form = request.form
    sid, sender, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")
    if not sid or not sender:
        return jsonify({"error": "bad_request", "message": "MessageSid and From are required"}), 400
    outcome = sms_replies.handle_reply(
        get_session(), runtime().settings, message_sid=sid, sender=sender, to=form.get("To", ""), body=body
    )
    return _twiml(outcome.answer)


@bp.post(STATUS_CALLBACK_PATH)
def status() -> ResponseReturnValue:
    """A message's new status; replays and late arrivals never move it backwards."""
    form = request.form
    sid, new_status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    raw_id = request.args.get("d")
    if not sid or not new_status or (raw_id is not None and not raw_id.isdigit()):
        return jsonify({"error": "bad_request", "message": "MessageSid and MessageStatus are required"}), 400
    session = get_session()
    delivery_status.record_status(
        session,
        delivery_id=int(raw_id) if raw_id else None,
        message_sid=sid,
        status=new_status,
        error_code=form.get("ErrorCode") or None,
    )
    return Response(status=204)
