"""SMS and Twilio settings: refused by name when wrong, French mobile senders refused (R22)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.config import ConfigError, Rate, load_settings

ACCOUNT = "AC" + "0123456789abcdef" * 2
SERVICE = "MG" + "0123456789abcdef" * 2
TWILIO = {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": "secret-token"}

BAD_VALUES = [
    ("TWILIO_ACCOUNT_SID", {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "x"}),
    ("TWILIO_AUTH_TOKEN", {"TWILIO_ACCOUNT_SID": ACCOUNT}),
    ("TWILIO_ACCOUNT_SID", {"TWILIO_FROM": "36123"}),
    ("TWILIO_MESSAGING_SERVICE_SID", {**TWILIO, "TWILIO_MESSAGING_SERVICE_SID": "MGnope"}),
    ("TWILIO_FROM", {**TWILIO, "TWILIO_FROM": "+12"}),
    ("TWILIO_FROM", {**TWILIO, "TWILIO_FROM": "Exemple-Shop-Paris"}),  # sender IDs have at most 11 characters
    ("TWILIO_API_BASE_URL", {"TWILIO_API_BASE_URL": "ftp://api.twilio.com"}),
    ("TWILIO_API_BASE_URL", {"TWILIO_API_BASE_URL": "https://proxy.example/twilio"}),
    ("SMS_MAX_RATE", {"SMS_MAX_RATE": "fast"}),
    ("SMS_CONCURRENCY", {"SMS_CONCURRENCY": "0"}),
    ("SMS_CONCURRENCY", {"SMS_CONCURRENCY": "500"}),
    ("SMS_QUIET_HOURS", {"SMS_QUIET_HOURS": "FR=mon-sat 08:00-21:30"}),
    ("SMS_ALLOW_HOLIDAYS", {"SMS_ALLOW_HOLIDAYS": "sometimes"}),
    ("SMS_NEAR_MISS_ACTION", {"SMS_NEAR_MISS_ACTION": "ignore"}),
    ("SMS_OPT_OUT_KEYWORDS", {"SMS_OPT_OUT_KEYWORDS": " , "}),
]


@pytest.mark.parametrize(("name", "env"), BAD_VALUES)
def test_a_bad_sms_variable_is_refused_by_name(tmp_path: Path, name: str, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({"INSTANCE_PATH": str(tmp_path), **env})


@pytest.mark.parametrize("number", ["+33612345678", "+33712345678"])
def test_a_french_mobile_number_cannot_send_marketing(tmp_path: Path, number: str) -> None:
    with pytest.raises(
        ConfigError, match="TWILIO_FROM: French marketing SMS may not come from a \\+336/\\+337"
    ):
        load_settings({"INSTANCE_PATH": str(tmp_path), **TWILIO, "TWILIO_FROM": number})


def test_a_short_code_a_sender_id_or_a_messaging_service_is_accepted(tmp_path: Path) -> None:
    for sender in (
        {"TWILIO_FROM": "36123"},
        {"TWILIO_FROM": "Exemple"},
        {"TWILIO_MESSAGING_SERVICE_SID": SERVICE},
    ):
        settings = load_settings({"INSTANCE_PATH": str(tmp_path), **TWILIO, **sender})
        assert settings.sms.configured


def test_defaults_and_values(tmp_path: Path) -> None:
    defaults = load_settings({"INSTANCE_PATH": str(tmp_path), "ORG_NAME": "Exemple SAS"}).sms
    assert not defaults.configured
    assert defaults.api_base_url == "https://api.twilio.com"
    # Only SMS_SENDER_NAME: the legal name stands in through the one resolver of the organisation's settings.
    assert defaults.sender_name == ""
    assert (defaults.max_rate, defaults.concurrency, defaults.near_miss_action) == (
        (Rate(10, 1),),
        32,
        "withdraw",
    )
    assert "ARRÊT" in defaults.opt_out_keywords

    custom = load_settings(
        {
            "INSTANCE_PATH": str(tmp_path),
            **TWILIO,
            "TWILIO_MESSAGING_SERVICE_SID": SERVICE,
            "TWILIO_API_BASE_URL": "http://127.0.0.1:8765/",
            "SMS_SENDER_NAME": "Exemple",
            "SMS_STOP_TEXT": "STOP au 36123",
            "SMS_MAX_RATE": "30/s,10000/h",
            "SMS_OPT_OUT_KEYWORDS": "stop,arret,fin",
            "SMS_NEAR_MISS_ACTION": "review",
        }
    ).sms
    assert custom.api_base_url == "http://127.0.0.1:8765"
    assert custom.max_rate == (Rate(30, 1), Rate(10000, 3600))
    assert custom.opt_out_keywords == ("STOP", "ARRET", "FIN")
    assert (custom.sender_name, custom.stop_text, custom.near_miss_action) == (
        "Exemple",
        "STOP au 36123",
        "review",
    )
