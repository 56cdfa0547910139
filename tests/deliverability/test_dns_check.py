"""`sender deliverability check DOMAIN` against a real DNS server (dnslib) seeded with good and bad records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sender.cli.main import cli
from sender.runtime import Runtime
from sender.services.deliverability import dkim_key
from tests.dns_server import DnsTestServer

# A relay given by address: the check can tell whether SPF lists it.
RELAY = "smtp://192.0.2.25:2525"


@pytest.fixture
def dns() -> Iterator[DnsTestServer]:
    with DnsTestServer() as server:
        yield server


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "dkim.pem"
    path.write_bytes(dkim_key.generated_pem())
    return path


def _env(base_env: dict[str, str], dns: DnsTestServer, key: Path, **more: str) -> dict[str, str]:
    return {
        **base_env,
        "DNS_NAMESERVERS": f"127.0.0.1:{dns.port}",
        "SMTP_URL": RELAY,
        "BOUNCE_DOMAIN": "bounces.exemple.test",
        "DKIM_SELECTOR": "s2027",
        "DKIM_DOMAIN": "exemple.test",
        "DKIM_PRIVATE_KEY_FILE": str(key),
        **more,
    }


def _check(env: dict[str, str], *args: str) -> tuple[int, dict[str, str], str]:
    result = CliRunner(env=env).invoke(cli, ["deliverability", "check", *args])
    verdicts = {}
    for line in result.output.splitlines():
        if line.startswith(("PASS", "FAIL")):
            verdict, name = line.split()[:2]
            verdicts[name.rstrip(":")] = verdict
    return result.exit_code, verdicts, result.output


def test_a_well_published_domain_passes_every_item(
    committed: Runtime, base_env: dict[str, str], dns: DnsTestServer, key: Path
) -> None:
    dns.txt("bounces.exemple.test", "v=spf1 ip4:192.0.2.0/24 -all")
    dns.txt("exemple.test", "google-site-verification=abc")  # another TXT record is not an SPF one
    dns.txt("s2027._domainkey.exemple.test", dkim_key.public_record(key.read_bytes()))
    dns.txt("_dmarc.exemple.test", "v=DMARC1; p=quarantine; rua=mailto:dmarc@exemple.test")
    code, verdicts, output = _check(_env(base_env, dns, key), "exemple.test")
    assert code == 0, output
    assert verdicts == dict.fromkeys(
        ("spf", "dkim", "dmarc", "dkim_alignment", "return_path_alignment"), "PASS"
    )
    assert "policy quarantine" in output and "the relay is listed" in output


def test_missing_and_wrong_records_fail_with_what_to_publish(
    committed: Runtime, base_env: dict[str, str], dns: DnsTestServer, key: Path
) -> None:
    # SPF without the relay, a key that is not ours, DMARC without a policy, strict SPF alignment.
    dns.txt("bounces.exemple.test", "v=spf1 ip4:198.51.100.7 -all")
    other = dkim_key.public_record(dkim_key.generated_pem())
    dns.txt("s2027._domainkey.exemple.test", other)
    dns.txt("_dmarc.exemple.test", "v=DMARC1; aspf=s")
    code, verdicts, output = _check(_env(base_env, dns, key), "exemple.test")
    assert code == 1
    assert verdicts == {
        "spf": "FAIL",
        "dkim": "FAIL",
        "dmarc": "FAIL",
        "dkim_alignment": "PASS",
        # aspf=s: the return path must be the From domain itself, not a subdomain of it.
        "return_path_alignment": "FAIL",
    }
    assert "the return path bounces.exemple.test does not align with exemple.test" in output
    assert "the relay's address 192.0.2.25 is not in the SPF record" in output
    assert "publish: bounces.exemple.test TXT v=spf1 ip4:198.51.100.7 ip4:192.0.2.25 -all" in output
    assert f"publish: s2027._domainkey.exemple.test TXT {dkim_key.public_record(key.read_bytes())}" in output
    assert "publish: _dmarc.exemple.test TXT v=DMARC1; p=none" in output


def test_another_domain_is_not_aligned_and_a_silent_zone_fails(
    committed: Runtime, base_env: dict[str, str], dns: DnsTestServer, key: Path
) -> None:
    dns.txt("s2027._domainkey.exemple.test", dkim_key.public_record(key.read_bytes()))
    code, verdicts, output = _check(_env(base_env, dns, key), "autre.test", "--selector", "s2027")
    assert code == 1
    assert verdicts["dkim"] == "PASS"
    assert verdicts["spf"] == verdicts["dmarc"] == "FAIL"
    assert verdicts["dkim_alignment"] == verdicts["return_path_alignment"] == "FAIL"
    assert "d=exemple.test does not align with autre.test" in output
    assert "publish: BOUNCE_DOMAIN=bounces.autre.test" in output
    # Without DKIM configured at all, signing is reported missing.
    unsigned = _env(base_env, dns, key, DKIM_SELECTOR="", DKIM_DOMAIN="", DKIM_PRIVATE_KEY_FILE="")
    code, verdicts, output = _check(unsigned, "exemple.test")
    assert code == 1 and verdicts["dkim"] == verdicts["dkim_alignment"] == "FAIL"
    assert "messages are not DKIM-signed" in output
