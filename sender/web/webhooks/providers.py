"""Bounce and complaint webhooks of email providers (issue 18): SES through SNS, SendGrid, Mailgun, Postmark, Brevo.

Each view hands the raw request to its provider's service, which checks the signature before reading
anything: a refusal is a 403 and nothing changes. Every accepted request gets the same empty 200 whatever
it named (an unknown delivery leaks nothing); a replay changes nothing. Like Twilio's webhooks, these are
outside the staff pages' CSRF check and the public pages' rate limits (providers post from few addresses).
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from sender.services.deliverability.feedback import Feedback
from sender.services.deliverability.providers import brevo, mailgun, postmark, sendgrid, sns
from sender.services.deliverability.providers.common import Refused
from sender.services.deliverability.providers.intake import apply_reports
from sender.services.errors import ValidationFailed
from sender.web.session import get_session, runtime

bp = Blueprint("provider_webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> ResponseReturnValue:
    # The reason names the check that failed, never a secret or anything the request carried.
    log.warning("provider webhook %s refused: %s", request.path, exc.reason)
    return jsonify({"error": "forbidden"}), 403


@bp.errorhandler(ValidationFailed)
def _malformed(exc: ValidationFailed) -> ResponseReturnValue:
    return jsonify({"error": "bad_request", "message": exc.message, "fields": exc.errors}), 400


def _applied(source: str, reports: list[Feedback]) -> Response:
    outcomes = apply_reports(get_session(), runtime().settings, reports)
    if outcomes:
        log.debug("%s webhook: %s", source, ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())))
    return Response(status=200)


@bp.post("/ses")
def ses() -> ResponseReturnValue:
    """Amazon SES notifications through SNS (and SNS's subscription confirmation)."""
    return _applied(sns.SOURCE, sns.receive(runtime().settings.webhooks, request.get_data(), time.time()))


@bp.post("/sendgrid")
def sendgrid_events() -> ResponseReturnValue:
    """SendGrid's Event Webhook (a batch of events)."""
    reports = sendgrid.receive(
        runtime().settings.webhooks,
        request.headers.get(sendgrid.SIGNATURE_HEADER, ""),
        request.headers.get(sendgrid.TIMESTAMP_HEADER, ""),
        request.get_data(),
        time.time(),
    )
    return _applied(sendgrid.SOURCE, reports)


@bp.post("/mailgun")
def mailgun_events() -> ResponseReturnValue:
    """One Mailgun event."""
    rt = runtime()
    return _applied(
        mailgun.SOURCE, mailgun.receive(rt.settings.webhooks, rt.redis, request.get_data(), time.time())
    )


@bp.post("/postmark")
def postmark_events() -> ResponseReturnValue:
    """Postmark's Bounce and SpamComplaint webhooks."""
    settings = runtime().settings
    reports = postmark.receive(
        settings.webhooks,
        request.headers.get("Authorization", ""),
        settings.public_base_url,
        request.scheme,
        request.get_data(),
    )
    return _applied(postmark.SOURCE, reports)


@bp.post("/brevo")
def brevo_events() -> ResponseReturnValue:
    """Brevo's transactional webhook."""
    settings = runtime().settings
    reports = brevo.receive(
        settings.webhooks,
        request.headers.get("Authorization", ""),
        settings.public_base_url,
        request.scheme,
        request.get_data(),
    )
    return _applied(brevo.SOURCE, reports)
