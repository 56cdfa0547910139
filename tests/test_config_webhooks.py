"""Provider webhook settings: checked at start-up, never repeated, and the SNS host rule without a way around it."""

from __future__ import annotations

import pytest

from sender.config import ConfigError
from sender.config_webhooks import WebhookSettings, load_webhook_settings
from sender.services.deliverability.providers.sns import trusted_url


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_TOLERANCE", "soon"),
        ("WEBHOOK_TOLERANCE", "10"),
        ("SES_SNS_TOPIC_ARNS", "my-topic"),
        ("SNS_TEST_ORIGIN", "http://attacker.test:8080"),
        ("SNS_TEST_ORIGIN", "http://10.0.0.1:8080"),
        ("SNS_TEST_ORIGIN", "ftp://127.0.0.1:21"),
        ("SENDGRID_WEBHOOK_PUBLIC_KEY", "not base64 !"),
        ("MAILGUN_WEBHOOK_SIGNING_KEY", "short-secret"),
        ("POSTMARK_WEBHOOK_CREDENTIALS", "no-colon-in-it-at-all"),
        ("POSTMARK_WEBHOOK_CREDENTIALS", "user:short"),
        ("BREVO_WEBHOOK_TOKEN", "short"),
    ],
)
def test_a_bad_webhook_setting_stops_start_up_naming_it_without_its_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_webhook_settings({name: value})
    assert name in str(caught.value)
    if "SECRET" in name or "KEY" in name or "TOKEN" in name or "CREDENTIALS" in name:
        assert value not in str(caught.value)


def test_secrets_never_show_in_the_settings_repr() -> None:
    settings = load_webhook_settings(
        {
            "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-secret-0123456789",
            "POSTMARK_WEBHOOK_CREDENTIALS": "user:postmark-secret-0123456789",
            "BREVO_WEBHOOK_TOKEN": "brevo-secret-0123456789",
        }
    )
    shown = repr(settings)
    assert "secret" not in shown
    assert settings.tolerance_seconds == 3600


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-abc.pem", True),
        ("https://sns.eu-west-3.amazonaws.com:8443/SimpleNotificationService-abc.pem", False),
        ("https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-abc.txt", False),
        ("https://user@sns.eu-west-3.amazonaws.com/SimpleNotificationService-abc.pem", False),
        ("https://sns.eu-west-3.amazonaws.com.attacker.test/x.pem", False),
        ("https://attacker.test/sns.eu-west-3.amazonaws.com/x.pem", False),
        ("http://127.0.0.1:8080/x.pem", False),
    ],
)
def test_only_sns_hosts_over_https_are_trusted_by_default(url: str, trusted: bool) -> None:
    assert trusted_url(url, WebhookSettings(), suffix=".pem") is trusted


def test_the_test_origin_adds_exactly_one_loopback_origin() -> None:
    settings = load_webhook_settings({"SNS_TEST_ORIGIN": "http://127.0.0.1:8080"})
    assert trusted_url("http://127.0.0.1:8080/x.pem", settings, suffix=".pem")
    assert not trusted_url("http://127.0.0.1:8081/x.pem", settings, suffix=".pem")
    assert not trusted_url("http://127.0.0.1:8080.attacker.test/x.pem", settings, suffix=".pem")
