"""Amazon SES through SNS: the SNS message signature, subscription confirmation, and SES's reports.

The signature (SignatureVersion 1: SHA1 with RSA, 2: SHA256 with RSA) is checked against the certificate
at SigningCertURL, which must be https on an `sns.<region>.amazonaws.com` host: any other URL is refused
before anything is fetched. Certificates are kept in memory by URL. A genuine signature only proves that
*some* SNS topic sent the message, so the topic must also be one of SES_SNS_TOPIC_ARNS.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sender.channels.email.render import delivery_in_message_id
from sender.config_webhooks import WebhookSettings
from sender.enums import FeedbackKind
from sender.services.deliverability.feedback import Feedback
from sender.services.deliverability.providers.common import Refused, code, fresh, json_document, mapping, text
from sender.services.errors import ValidationFailed

SOURCE = "ses"
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# The fields each message type signs, in this order (SNS's documented canonical form).
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_CACHE_SIZE = 16
_MAX_CERT_BYTES = 64 * 1024
_http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=5), retries=False)
_certificates: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
_lock = threading.Lock()


def trusted_url(url: str, webhooks: WebhookSettings, *, suffix: str = "") -> bool:
    """Whether `url` is https on an SNS host (or the loopback origin that tests set), ending with `suffix`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if webhooks.sns_test_origin and url.startswith(webhooks.sns_test_origin + "/"):
        return parts.path.endswith(suffix)
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and parts.username is None
        and _SNS_HOST.fullmatch(parts.hostname or "") is not None
        and parts.path.endswith(suffix)
    )


def _get(url: str) -> bytes:
    try:
        answer = _http.request("GET", url, preload_content=False, redirect=False)
        data = answer.read(_MAX_CERT_BYTES + 1)
        answer.release_conn()
    except urllib3.exceptions.HTTPError:
        raise Refused("SNS host unreachable") from None
    if answer.status != 200 or len(data) > _MAX_CERT_BYTES:
        raise Refused(f"SNS host answered {answer.status}")
    return bytes(data)


def certificate_key(url: str, webhooks: WebhookSettings) -> rsa.RSAPublicKey:
    """The RSA key of the signing certificate at `url`, fetched once; Refused for an untrusted URL."""
    if not trusted_url(url, webhooks, suffix=".pem"):
        raise Refused("SigningCertURL is not an SNS certificate URL")
    with _lock:
        if url in _certificates:
            _certificates.move_to_end(url)
            return _certificates[url]
    try:
        key = x509.load_pem_x509_certificate(_get(url)).public_key()
    except ValueError:
        raise Refused("SigningCertURL holds no certificate") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refused("the signing certificate's key is not RSA")
    with _lock:
        _certificates[url] = key
        while len(_certificates) > _CACHE_SIZE:
            _certificates.popitem(last=False)
    return key


def signed_text(message: dict[str, Any]) -> bytes:
    """The canonical string SNS signs: each present field's name and value, one per line."""
    fields = _SIGNED.get(text(message.get("Type")))
    if fields is None:
        raise Refused("unknown SNS message type")
    lines = []
    for name in fields:
        if name in message:
            lines.append(f"{name}\n{text(message[name])}\n")
    return "".join(lines).encode()


def verify(message: dict[str, Any], webhooks: WebhookSettings, now: float) -> None:
    """Refuse the message unless its topic is ours, its signature holds and its Timestamp is fresh."""
    if text(message.get("TopicArn")) not in webhooks.ses_topic_arns:
        raise Refused("topic not in SES_SNS_TOPIC_ARNS")
    algorithm = _HASHES.get(text(message.get("SignatureVersion")))
    if algorithm is None:
        raise Refused("unknown SignatureVersion")
    try:
        signature = base64.b64decode(text(message.get("Signature")), validate=True)
        sent = datetime.fromisoformat(text(message.get("Timestamp"))).timestamp()
    except (binascii.Error, ValueError):
        raise Refused("malformed Signature or Timestamp") from None
    key = certificate_key(text(message.get("SigningCertURL")), webhooks)
    try:
        key.verify(signature, signed_text(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise Refused("bad SNS signature") from None
    fresh(sent, now, webhooks.tolerance_seconds)


def receive(webhooks: WebhookSettings, body: bytes, now: float) -> list[Feedback]:
    """The reports of a verified SNS message; a subscription to one of our topics is confirmed on the way."""
    if not webhooks.ses_topic_arns:
        raise Refused("SES_SNS_TOPIC_ARNS is not set")
    try:
        message = mapping(json_document(body), "body")
    except ValidationFailed:
        raise Refused("not an SNS message") from None
    verify(message, webhooks, now)
    kind = text(message.get("Type"))
    if kind == "SubscriptionConfirmation":
        url = text(message.get("SubscribeURL"))
        if not trusted_url(url, webhooks):
            raise Refused("SubscribeURL is not an SNS URL")
        _get(url)
        return []
    if kind != "Notification":
        return []
    return ses_reports(json_document(text(message.get("Message")).encode()))


def _message_id(mail: dict[str, Any]) -> str:
    common = mail.get("commonHeaders")
    if isinstance(common, dict) and text(common.get("messageId")):
        return text(common.get("messageId"))
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and text(header.get("name")).lower() == "message-id":
            return text(header.get("value"))
    return ""


def ses_reports(document: Any) -> list[Feedback]:
    """SES's Bounce (Permanent: hard; Transient, Undetermined: soft) and Complaint notifications."""
    doc = mapping(document, "Message")
    kind = text(doc.get("notificationType") or doc.get("eventType"))
    delivery = delivery_in_message_id(_message_id(mapping(doc.get("mail") or {}, "mail")))
    if kind == "Bounce":
        report = mapping(doc.get("bounce"), "bounce")
        feedback = (
            FeedbackKind.HARD_BOUNCE if report.get("bounceType") == "Permanent" else FeedbackKind.SOFT_BOUNCE
        )
        recipients = report.get("bouncedRecipients") or []
    elif kind == "Complaint":
        report = mapping(doc.get("complaint"), "complaint")
        if report.get("complaintFeedbackType") == "not-spam":
            return []
        feedback, recipients = FeedbackKind.COMPLAINT, report.get("complainedRecipients") or []
    else:
        return []
    report_id = text(report.get("feedbackId"))
    if not report_id or not isinstance(recipients, list):
        raise ValidationFailed({"Message": "a report needs its feedbackId and recipients"})
    return [
        Feedback(
            kind=feedback,
            # One message, one recipient: more than one only if SES was given several.
            report_id=report_id if index == 0 else f"{report_id}#{index}",
            source=SOURCE,
            delivery_id=delivery if len(recipients) == 1 else None,
            address=text(mapping(recipient, "recipients").get("emailAddress")) or None,
            detail=code(mapping(recipient, "recipients").get("status")) or code(report.get("bounceSubType")),
        )
        for index, recipient in enumerate(recipients)
    ]
