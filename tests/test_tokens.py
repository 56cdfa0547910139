"""Signed links: kinds never cross, keys rotate, tampering and age are refused, payloads stay opaque."""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from itsdangerous.encoding import base64_decode
from itsdangerous.timed import TimestampSigner

from sender.models.contacts import new_public_id
from sender.tokens import KINDS, TokenExpired, TokenInvalid, TokenService

K1 = "first-key-0123456789abcdef"
K2 = "second-key-0123456789abcdef"
DAY = 24 * 3600
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

kinds = st.sampled_from(sorted(KINDS))
public_ids = st.builds(new_public_id)
payloads = st.fixed_dictionaries(
    {"c": public_ids},
    optional={"p": st.integers(1, 10**6), "k": st.sampled_from(["email", "sms"]), "t": public_ids},
)


@contextmanager
def signed_ago(monkeypatch: pytest.MonkeyPatch, seconds: int) -> Iterator[None]:
    """Make itsdangerous stamp tokens `seconds` in the past (its clock, not ours; no sleeping)."""
    then = int(time.time()) - seconds
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: then)
        yield


def decoded_payload(token: str) -> bytes:
    """What anyone holding the link can read: the payload part, base64-decoded (and inflated)."""
    compressed = token.startswith(".")
    raw = base64_decode(token.lstrip(".").split(".")[0])
    return zlib.decompress(raw) if compressed else raw


@settings(max_examples=200)
@given(signed_as=kinds, read_as=kinds, payload=payloads)
def test_a_token_of_one_kind_never_verifies_as_another_r33(
    signed_as: str, read_as: str, payload: dict[str, Any]
) -> None:
    service = TokenService([K1, K2])
    token = service.dumps(signed_as, payload)
    if signed_as == read_as:
        assert service.loads(read_as, token) == payload
    else:
        with pytest.raises(TokenInvalid) as caught:
            service.loads(read_as, token)
        assert not isinstance(caught.value, TokenExpired)


@settings(max_examples=100)
@given(kind=kinds, payload=payloads)
def test_tokens_survive_key_rotation_r35(kind: str, payload: dict[str, Any]) -> None:
    old = TokenService([K1]).dumps(kind, payload)
    assert TokenService([K1, K2]).loads(kind, old) == payload
    with pytest.raises(TokenInvalid):
        TokenService([K2]).loads(kind, old)


@settings(max_examples=100)
@given(kind=kinds, payload=payloads)
def test_signing_uses_the_newest_key(kind: str, payload: dict[str, Any]) -> None:
    token = TokenService([K1, K2]).dumps(kind, payload)
    assert TokenService([K2]).loads(kind, token) == payload
    with pytest.raises(TokenInvalid):
        TokenService([K1]).loads(kind, token)


@settings(max_examples=300)
@given(kind=kinds, payload=payloads, data=st.data())
def test_a_tampered_token_is_invalid(kind: str, payload: dict[str, Any], data: st.DataObject) -> None:
    service = TokenService([K1, K2])
    token = service.dumps(kind, payload)
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    original = token[index]
    # The last character of a base64 segment may only carry padding bits, which decoders ignore.
    assume(original == "." or (index + 1 < len(token) and token[index + 1] != "."))
    replacement = data.draw(st.sampled_from([c for c in URLSAFE + "." if c != original]), label="char")
    tampered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(TokenInvalid):
        service.loads(kind, tampered)


@pytest.mark.parametrize("garbage", ["", "x", "not.a.token", "....", "eyJjIjoiYSJ9.Zz.Zz"])
def test_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        TokenService([K1]).loads("unsubscribe", garbage)


def test_a_signed_non_object_payload_is_invalid() -> None:
    # Only objects of ids are ever signed; anything else under our key is not one of our links.
    from itsdangerous import URLSafeTimedSerializer

    token = URLSafeTimedSerializer([K1], salt=KINDS["portal"].salt).dumps(["c", "x"])
    with pytest.raises(TokenInvalid):
        TokenService([K1]).loads("portal", token)


@pytest.mark.parametrize("kind", ["confirm", "access", "portal", "signup"])
def test_confirm_and_access_tokens_expire_r37(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    service = TokenService([K1, K2])
    max_age = KINDS[kind].max_age
    assert max_age is not None
    with signed_ago(monkeypatch, max_age - 60):
        fresh = service.dumps(kind, {"c": "abc"})
    with signed_ago(monkeypatch, max_age + 60):
        stale = service.dumps(kind, {"c": "abc"})
    assert service.loads(kind, fresh) == {"c": "abc"}
    with pytest.raises(TokenExpired):
        service.loads(kind, stale)


def test_expiry_windows() -> None:
    assert KINDS["access"].max_age == 72 * 3600
    assert KINDS["portal"].max_age == 72 * 3600
    assert KINDS["signup"].max_age == 7 * DAY
    assert KINDS["confirm"].max_age == 30 * DAY


def test_a_configured_lifetime_replaces_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    service = TokenService([K1])
    with signed_ago(monkeypatch, 2 * 3600):
        token = service.dumps("portal", {"c": "abc", "j": "0123456789"})
    assert service.loads("portal", token)["c"] == "abc"
    with pytest.raises(TokenExpired):
        service.loads("portal", token, max_age=3600)


@pytest.mark.parametrize("kind", ["unsubscribe"])
def test_exit_links_never_expire(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # Withdrawal must work "at any time" (Art. 7(3), 21(2)): a three-year-old email still unsubscribes.
    service = TokenService([K1, K2])
    with signed_ago(monkeypatch, 3 * 365 * DAY):
        token = service.dumps(kind, {"c": "abc"})
    assert service.loads(kind, token) == {"c": "abc"}


def test_an_expired_token_under_an_old_key_is_still_reported_as_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with signed_ago(monkeypatch, 4 * DAY):
        token = TokenService([K1]).dumps("access", {"c": "abc"})
    with pytest.raises(TokenExpired):
        TokenService([K1, K2]).loads("access", token)


@settings(max_examples=200)
@given(kind=kinds, payload=payloads)
def test_payload_carries_no_address_r34(kind: str, payload: dict[str, Any]) -> None:
    token = TokenService([K1, K2]).dumps(kind, payload)
    readable = decoded_payload(token)
    assert json.loads(readable) == payload
    assert b"@" not in readable
    assert b"+33" not in readable
    assert re.search(rb"\+\d{6,}", readable) is None
    assert "@" not in token and "+" not in token


@pytest.mark.parametrize(
    "payload",
    [
        {"c": "camille.martin@example.org"},
        {"c": "abc", "to": "+33612345678"},
        {"c": "abc", "extra": {"nested": ["x@example.org"]}},
    ],
)
def test_addresses_are_refused_in_payloads_r34(payload: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="opaque"):
        TokenService([K1]).dumps("unsubscribe", payload)


def test_a_service_needs_a_key() -> None:
    with pytest.raises(ValueError):
        TokenService([])
