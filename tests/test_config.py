"""Settings from the environment: bad values are refused by name, secrets are generated once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sender.config import ConfigError, load_settings, safe_url
from sender.db import make_engine

BAD_VALUES = [
    ("DATABASE_URL", "mysql://db/sender"),
    ("REDIS_URL", "http://cache:6379"),
    ("SMTP_URL", "mail.example.org:25"),
    ("SMTP_URL", "smtp://"),
    ("SMTP_URL", "smtp://mail.example.org:99999"),
    ("SMTP_URL", "smtp://mail.example.org:0"),
    ("SMTP_URL", "smtp://mail.example.org:smtp"),
    ("SMTP_URL", "smtp://mail.example.org?timeout=soon"),
    ("SMTP_URL", "smtp://mail.example.org?timeout=-3"),
    ("SMTP_URL", "smtp://mail.example.org?timeout=nan"),
    ("SMTP_URL", "smtp://mail.example.org?starttls=maybe"),
    ("SMTP_URL", "smtp://mail.example.org?tls=1"),
    ("SMTP_URL", "smtp://user:pa/ss@mail.example.org:587"),
    ("PUBLIC_BASE_URL", "ftp://sender.example.org"),
    ("SECRET_KEYS", "too-short"),
    ("SECRET_KEYS", " , "),
    ("HASH_KEY", "too-short"),
    ("DEFAULT_PHONE_REGION", "XX"),
    ("SEND_BATCH_SIZE", "many"),
    ("SEND_CLAIM_SIZE", "0"),
    ("SEND_RETRY_INTERVALS", "30,soon"),
    ("SEND_RETRY_INTERVALS", "30,-5"),
    ("SEND_LEASE_SECONDS", "1.5"),
    ("MAX_CONTENT_LENGTH", "-1"),
    ("LOG_LEVEL", "LOUD"),
    ("DATABASE_URL", "sqlite:///sender.db?timeout=soon"),
    ("DATABASE_URL", "sqlite:///sender.db?timeout=0"),
    ("DATABASE_URL", "sqlite:///sender.db?timeout=nan"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_variable_is_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({"INSTANCE_PATH": str(tmp_path), name: value})


def test_a_fresh_instance_folder_gets_private_generated_keys_that_persist(tmp_path: Path) -> None:
    instance = tmp_path / "instance"

    first = load_settings({"INSTANCE_PATH": str(instance)})
    second = load_settings({"INSTANCE_PATH": str(instance)})

    for name in ("secret_key", "hash_key"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, f"{name} is readable by others: {oct(mode)}"
    assert len(first.secret_keys) == 1 and len(first.secret_keys[0]) >= 32
    assert second.secret_keys == first.secret_keys
    assert second.hash_key == first.hash_key
    assert first.hash_key != first.secret_keys[0]


def test_defaults_need_nothing_but_a_folder(tmp_path: Path) -> None:
    settings = load_settings({"INSTANCE_PATH": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'sender.db'}"
    assert settings.redis_url is None  # the embedded server is used
    assert settings.smtp_url is None  # messages go to the outbox folder
    assert settings.outbox_path == tmp_path.resolve() / "outbox"


@pytest.mark.parametrize(
    "url",
    ["postgres://app:secret@db.internal:5432/sender", "postgresql://app:secret@db.internal:5432/sender"],
)
def test_postgres_urls_use_the_psycopg_driver(tmp_path: Path, url: str) -> None:
    settings = load_settings({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})

    assert settings.database_url == "postgresql+psycopg://app:secret@db.internal:5432/sender"


def test_secret_keys_keep_their_order_for_rotation(tmp_path: Path) -> None:
    env = {
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEYS": "old-key-0123456789abcdef, new-key-0123456789abcdef",
    }

    settings = load_settings(env)

    assert settings.secret_keys == ("old-key-0123456789abcdef", "new-key-0123456789abcdef")
    assert not (tmp_path / "secret_key").exists()


def test_numbers_and_lists_are_parsed(tmp_path: Path) -> None:
    env = {
        "INSTANCE_PATH": str(tmp_path),
        "SEND_BATCH_SIZE": "250",
        "SEND_RETRY_INTERVALS": "10,60,3600",
        "DEFAULT_PHONE_REGION": "de",
        "LOG_LEVEL": "warning",
        "ORG_CONTACT_EMAIL": "contact@exemple.test",
    }

    settings = load_settings(env)

    assert settings.send_batch_size == 250
    assert settings.send_retry_intervals == (10, 60, 3600)
    assert settings.default_phone_region == "DE"
    assert settings.log_level == "WARNING"
    assert settings.email_from == "contact@exemple.test"  # falls back to the contact address


def test_smtp_url_errors_and_shown_urls_never_carry_the_password(tmp_path: Path) -> None:
    for url in ("smtp://user:s3cret-pw@mail.example.org:99999", "smtp://user:s3cr/et-pw@mail.example.org"):
        with pytest.raises(ConfigError) as caught:
            load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_URL": url})
        assert "s3cr" not in str(caught.value)
    good = "smtps://user:s3cret-pw@mail.example.org:465?timeout=7.5&helo=sender.example.org"
    settings = load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_URL": good})

    assert settings.smtp_url == good
    assert safe_url(good) == "smtps://mail.example.org:465"
    assert safe_url("redis://:s3cret-pw@cache:6379/2") == "redis://cache:6379/2"
    assert safe_url("unix:///run/redis.sock") == "unix:///run/redis.sock"


@pytest.mark.parametrize(
    ("url", "part"),
    [
        # Issue 15, item 18: a traceback, then three URLs accepted that could never work or were unsafe.
        ("smtp://user:s3cret-pw@[::1:25", "host"),
        ("smtp://user:s3cret-pw@[mail.example.org]:25", "host"),
        ("smtp://user:s3cret-pw@mail example.org:25", "host"),
        ("smtp://user:s3cret-pw@-mail.example.org:25", "host"),
        ("smtp://user:s3cret-pw@mail.example.org?helo=a%0d%0aRCPT", "helo"),
        ("smtp://user:s3cret-pw@mail.example.org?helo=two%20words", "helo"),
        ("smtp://user:s3cret-pw@mail.example.org?helo=%5Bnot-an-address%5D", "helo"),
        ("smtps://user:s3cret-pw@mail.example.org:465?starttls=1", "starttls"),
    ],
)
def test_a_bad_smtp_url_is_refused_naming_the_part_never_the_password(
    tmp_path: Path, url: str, part: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_URL": url})

    assert str(caught.value).startswith(f"SMTP_URL {part} ")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://[::1]:25",
        "smtp://192.0.2.1:25",
        "smtp://mail_relay:25",  # a container's name
        "smtp://relais.exämple.fr:587?starttls=1",
        "smtps://mail.example.org:465?starttls=0",
        "smtp://mail.example.org?helo=%5B192.0.2.1%5D",
        "smtp://mail.example.org?helo=%5BIPv6:2001:db8::1%5D",
        "smtp://mail.example.org?helo=",
    ],
)
def test_smtp_urls_with_valid_hosts_and_options_are_accepted(tmp_path: Path, url: str) -> None:
    assert load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_URL": url}).smtp_url == url


def test_redis_url_may_name_sentinels(tmp_path: Path) -> None:
    from sender.config_redis import parse_sentinel_url

    url = "redis+sentinel://:s3cret@10.0.0.1:26380,sentinel-b,[::1]:26381/mymaster/2?sentinel_password=sp"
    settings = load_settings({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": url})
    target = parse_sentinel_url(settings.redis_url or "")

    assert target.sentinels == (("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 26381))
    assert (target.service, target.db, target.password, target.sentinel_password) == (
        "mymaster",
        2,
        "s3cret",
        "sp",
    )
    assert safe_url(url) == "redis+sentinel://10.0.0.1:26380,sentinel-b,[::1]:26381/mymaster/2"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel:///mymaster/0", "at least one Sentinel"),
        ("redis+sentinel://h1:26379,h2:99999/mymaster", "port"),
        ("redis+sentinel://:pw@h1:26379", "/service"),
        ("redis+sentinel://h1/mymaster/zero", "database number"),
        ("redis+sentinel://h1/mymaster?db=1", "unknown option"),
    ],
)
def test_a_bad_sentinel_url_is_refused_without_its_password(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": url})
    assert "REDIS_URL" in str(refused.value) and "pw" not in str(refused.value)


def test_a_sqlite_urls_timeout_is_how_long_a_writer_waits_for_a_lock(tmp_path: Path) -> None:
    waits = {}
    for query in ("", "?timeout=2.5"):
        url = load_settings(
            {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/s.db{query}"}
        )
        engine = make_engine(url.database_url)
        with engine.connect() as connection:
            waits[query] = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        engine.dispose()
    assert waits == {"": 30_000, "?timeout=2.5": 2_500}
