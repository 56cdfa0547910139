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
from sender.models import InboundSms
from sender.services.campaigns import delivery_status
from sender.services.consent import sms_replies
from sender.services.errors import ValidationFailed
from sender.services.input import refuse_unstorable
from sender.web.bounds import column_length, parse_id
from sender.web.session import get_session, runtime

bp = Blueprint("twilio_webhooks", __name__)
log = logging.getLogger(__name__)
# Twilio's SIDs are 34 characters (the column holds 64) and its error codes 5 digits.
FIELD_LIMITS = {"MessageSid": column_length(InboundSms.message_sid), "ErrorCode": 16}


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


def _bad_request(message: str, fields: dict[str, str] | None = None) -> ResponseReturnValue:
    return jsonify(
        {"error": "bad_request", "message": message, **({"fields": fields} if fields else {})}
    ), 400


@bp.errorhandler(ValidationFailed)
def _refused(exc: ValidationFailed) -> ResponseReturnValue:
    # A signed request that no Twilio message could be: said precisely, and nothing is recorded.
    return _bad_request(exc.message, exc.errors)


def _check_fields() -> None:
    """Refuse what no Twilio request holds: unstorable text or numbers, a MessageSid longer than any SID."""
    refuse_unstorable({**request.args.to_dict(flat=False), **request.form.to_dict(flat=False)})
    for name, limit in FIELD_LIMITS.items():
        if len(request.form.get(name, "")) > limit:
            raise ValidationFailed({name: f"must be at most {limit} characters"})


@bp.post(INBOUND_PATH)
def inbound() -> ResponseReturnValue:
    """An SMS a person sent us: keywords act at once; the answer is TwiML (no call to Twilio from here).

    The request's work is committed before Twilio hears back: a withdrawal never waits on anything else.
    """
    _check_fields()
    form = request.form
    sid, sender, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")
    if not sid or not sender:
        return _bad_request("MessageSid and From are required")
    outcome = sms_replies.handle_reply(
        get_session(), runtime().settings, message_sid=sid, sender=sender, to=form.get("To", ""), body=body
    )
    return _twiml(outcome.answer)


@bp.post(STATUS_CALLBACK_PATH)
def status() -> ResponseReturnValue:
    """A message's new status; replays and late arrivals never move it backwards."""
    _check_fields()
    form = request.form
    sid, new_status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    raw_id = request.args.get("d")
    delivery_id = parse_id(raw_id)
    if raw_id is not None and delivery_id is None:
        raise ValidationFailed({"d": "must be a delivery id"})
    if not sid or not new_status:
        return _bad_request("MessageSid and MessageStatus are required")
    session = get_session()
    delivery_status.record_status(
        session,
        delivery_id=delivery_id,
        message_sid=sid,
        status=new_status,
        error_code=form.get("ErrorCode") or None,
    )
    return Response(status=204)
