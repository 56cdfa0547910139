"""Benchmark: the CPU cost of DKIM-signing one campaign message, beside the bare RSA operation.

Prints milliseconds per message for a ~4 KB message (the size of bench/send_campaign.py's) signed with a
2048-bit key by sender's signer (dkimpy: relaxed/relaxed canonicalisation, SHA-256, RSA in pure Python),
and, as the baseline, the RSA-SHA256 signature alone by OpenSSL (cryptography) over the same bytes. No
database or Redis is needed.

    python bench/dkim_sign.py
    python bench/dkim_sign.py --messages 500
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sender.channels.email.dkim import DkimSigner
from sender.services.deliverability.dkim_key import generated_pem


def _message() -> bytes:
    head = (
        "From: Exemple SAS <news@exemple.test>\r\nTo: camille@example.org\r\nSubject: December news\r\n"
        "Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <d1.c1.abc@exemple.test>\r\n"
        "List-Unsubscribe: <https://sender.test/u/token>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        "Feedback-ID: c1:news:0123456789:sender\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return head.encode() + b"Hello Camille, our shop opens on Sunday. " * 100 + b"\r\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    pem = generated_pem()
    data = _message()
    signer = DkimSigner("s2027", "exemple.test", pem)
    key = serialization.load_pem_private_key(pem, password=None)
    signer.sign(data)  # warm up
    start = time.process_time()
    for _ in range(args.messages):
        signer.sign(data)
    ours = (time.process_time() - start) / args.messages * 1000
    start = time.process_time()
    for _ in range(args.messages):
        key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    bare = (time.process_time() - start) / args.messages * 1000
    print(f"message: {len(data)} bytes, key: 2048 bits, {args.messages} messages")
    print(
        f"sender's DKIM signer (dkimpy): {ours:6.2f} ms CPU per message ({1000 / ours:7.0f} messages/s on one core)"
    )
    print(
        f"bare RSA-SHA256 (OpenSSL):     {bare:6.2f} ms CPU per message ({1000 / bare:7.0f} messages/s on one core)"
    )


if __name__ == "__main__":
    main()
