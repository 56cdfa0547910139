"""Genuinely signed provider webhooks for the tests: keys generated here, SNS's certificate served locally."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:eu-west-3:123456789012:sender-bounces"
# The canonical fields of each SNS message type, as AWS documents them (written here independently).
_SNS_FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}


class SnsStandIn:
    """An RSA key, its self-signed certificate, and a loopback HTTP server that serves it and takes confirmations."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        self.pem = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )
        self.requests: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                body = stand_in.pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        # A path of its own: a certificate cached from an earlier stand-in on the same port never answers.
        self.cert_path = f"/SimpleNotificationService-{secrets.token_hex(8)}.pem"
        self.cert_url = f"{self.origin}{self.cert_path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SnsStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)

    def message(
        self,
        kind: str,
        inner: dict[str, Any] | str,
        *,
        version: str = "2",
        cert_url: str | None = None,
        topic: str = TOPIC,
        at: datetime | None = None,
        message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    ) -> dict[str, Any]:
        """An SNS message of `kind` carrying `inner`, signed with this stand-in's key."""
        stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        message: dict[str, Any] = {
            "Type": kind,
            "MessageId": message_id,
            "TopicArn": topic,
            "Message": inner if isinstance(inner, str) else json.dumps(inner),
            "Timestamp": stamp,
            "SignatureVersion": version,
            "SigningCertURL": cert_url or self.cert_url,
        }
        if kind == "SubscriptionConfirmation":
            message["Token"] = "2336412f37fb687f5d51e6e241d638b05824e9e2"
            message["SubscribeURL"] = f"{self.origin}/?Action=ConfirmSubscription&Token=2336412f37fb"
        canonical = "".join(f"{f}\n{message[f]}\n" for f in _SNS_FIELDS[kind] if f in message).encode()
        # SignatureVersion 1 is SHA1 with RSA, as SNS still sends it.
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303
        signature = self.key.sign(canonical, padding.PKCS1v15(), algorithm)
        message["Signature"] = base64.b64encode(signature).decode()
        return message


def ses_bounce(
    message_id: str, address: str, bounce_type: str = "Permanent", feedback_id: str = "fb-1"
) -> dict[str, Any]:
    """SES's Bounce notification for one recipient."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1", "action": "failed"}],
            "timestamp": "2026-12-05T12:00:00.000Z",
            "feedbackId": feedback_id,
        },
        "mail": {"messageId": "0100abc", "commonHeaders": {"messageId": message_id}},
    }


def ses_complaint(message_id: str, address: str, feedback_id: str = "fb-c") -> dict[str, Any]:
    """SES's Complaint notification for one recipient."""
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": address}],
            "complaintFeedbackType": "abuse",
            "feedbackId": feedback_id,
        },
        "mail": {"messageId": "0100abd", "commonHeaders": {"messageId": message_id}},
    }


class SendGridSigner:
    """An ECDSA P-256 key pair; the public half as SendGrid shows it (base64 DER)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The signature and timestamp headers SendGrid sends with `body`."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def mailgun_body(key: str, event: dict[str, Any], token: str, timestamp: int | None = None) -> bytes:
    """Mailgun's JSON webhook body with its signature block."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {"signature": {"timestamp": stamp, "token": token, "signature": signature}, "event-data": event}
    ).encode()


def basic(user: str, password: str) -> str:
    """An HTTP basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
