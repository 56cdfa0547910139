"""Is a sending domain authenticated and aligned (R69)? SPF, the DKIM selector record, DMARC, alignment.

Each item passes or fails, with the record found and what to publish. DNS is read with dnspython, from
DNS_NAMESERVERS when set (tests run their own server), else from the system's resolver. Alignment is the
relaxed one of DMARC (RFC 7489 3.1) unless the DMARC record asks for strict (adkim=s, aspf=s); the
organisational domain is approximated as "one name ends with the other", without the public suffix list.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

import dns.exception
import dns.nameserver
import dns.resolver

from sender.addresses import ascii_email
from sender.config import Settings
from sender.i18n import N_
from sender.services.deliverability import dkim_key

LIFETIME_SECONDS = 5.0
ITEMS = ("spf", "dkim", "dmarc", "dkim_alignment", "return_path_alignment")


class DnsUnavailable(Exception):
    """No DNS server answered (timeout, no server): nothing can be said about the records."""


@dataclass(frozen=True)
class Item:
    """One check: its name (ITEMS), whether it passed, the record found, what to publish, and why."""

    name: str
    passed: bool
    found: str
    publish: str
    detail: str


@dataclass(frozen=True)
class Report:
    """All the checks of one From domain."""

    domain: str
    selector: str
    items: tuple[Item, ...]

    @property
    def passed(self) -> bool:
        """True when every item passed."""
        return all(item.passed for item in self.items)


def _resolver(settings: Settings) -> dns.resolver.Resolver:
    servers = settings.guard.dns_nameservers
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(s.host, s.port) for s in servers]
    resolver.lifetime = LIFETIME_SECONDS
    return resolver


def txt(settings: Settings, name: str) -> list[str]:
    """The TXT records at `name` (each one's strings joined); [] when there are none."""
    try:
        answer = _resolver(settings).resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise DnsUnavailable(type(exc).__name__) from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def addresses(settings: Settings, host: str) -> list[str]:
    """The IPv4 and IPv6 addresses of a host (itself when it is an address)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    found: list[str] = []
    for kind in ("A", "AAAA"):
        try:
            found += [record.to_text() for record in _resolver(settings).resolve(host, kind)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsUnavailable(type(exc).__name__) from None
    return found


def from_domain(settings: Settings) -> str:
    """The domain of the effective From address, in IDNA."""
    return ascii_email(parseaddr(settings.email_from)[1]).rpartition("@")[2].lower()


def return_path_domain(settings: Settings, domain: str) -> str:
    """Where bounces go: BOUNCE_DOMAIN (VERP), else the From address itself."""
    return settings.deliverability.bounce_domain or domain


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def aligned(a: str, b: str, strict: bool) -> bool:
    """DMARC identifier alignment of two domains (relaxed: one is the other or a subdomain of it)."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if a == b:
        return True
    return not strict and (a.endswith("." + b) or b.endswith("." + a))


def _spf(settings: Settings, domain: str) -> Item:
    records = [r for r in txt(settings, domain) if r.lower().startswith("v=spf1")]
    relay = urlsplit(settings.smtp_url).hostname if settings.smtp_url else None
    relay_ips = addresses(settings, relay) if relay else []
    suggested = f"v=spf1 {' '.join(_mechanism(ip) for ip in relay_ips) or 'include:<your relay>'} -all"
    if not records:
        return Item("spf", False, "", f"{domain} TXT {suggested}", N_("no SPF record"))
    if len(records) > 1:
        return Item(
            "spf", False, " | ".join(records), f"{domain} TXT {suggested}", N_("more than one SPF record")
        )
    record = records[0]
    terms = record.split()[1:]
    networks = []
    for term in terms:
        kind, _, value = term.lstrip("+").partition(":")
        if kind in ("ip4", "ip6"):
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                continue
    covered = [ip for ip in relay_ips if any(ipaddress.ip_address(ip) in net for net in networks)]
    indirect = any(
        t.lstrip("+").split(":")[0].split("/")[0] in ("include", "a", "mx", "redirect") for t in terms
    )
    if relay_ips and not covered and not indirect:
        missing = " ".join(_mechanism(ip) for ip in relay_ips)
        return Item(
            "spf",
            False,
            record,
            f"{domain} TXT {record.rsplit(' ', 1)[0]} {missing} {terms[-1] if terms else '-all'}",
            N_("the relay's address %(address)s is not in the SPF record", address=relay_ips[0]),
        )
    if relay_ips and not covered:
        return Item(
            "spf", True, record, "", N_("present; the relay may be covered by an include (not followed)")
        )
    return Item(
        "spf", True, record, "", N_("present") if not relay_ips else N_("present, the relay is listed")
    )


def _mechanism(ip: str) -> str:
    return f"ip6:{ip}" if ":" in ip else f"ip4:{ip}"


def _dkim(settings: Settings, domain: str, selector: str) -> Item:
    signing_domain = settings.guard.dkim_domain or domain
    expected = dkim_key.current_record(settings)
    if not selector:
        return Item(
            "dkim", False, "", "", N_("no DKIM selector is configured (Organisation page or DKIM_SELECTOR)")
        )
    name = f"{selector}._domainkey.{signing_domain}"
    records = [r for r in txt(settings, name) if "p=" in r]
    publish = f"{name} TXT {expected}" if expected else ""
    if not records:
        return Item("dkim", False, "", publish, N_("no DKIM key published at %(name)s", name=name))
    found = records[0]
    if expected and _tags(found).get("p") != _tags(expected).get("p"):
        return Item("dkim", False, found, publish, N_("the published key is not the configured one"))
    if not _tags(found).get("p"):
        return Item("dkim", False, found, publish, N_("the published key is revoked (empty p=)"))
    return Item(
        "dkim", True, found, "", N_("present, matches the configured key") if expected else N_("present")
    )


def _dmarc(settings: Settings, domain: str) -> tuple[Item, dict[str, str]]:
    name = f"_dmarc.{domain}"
    records = [r for r in txt(settings, name) if r.lower().startswith("v=dmarc1")]
    publish = f"{name} TXT v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"
    if len(records) != 1:
        detail = N_("no DMARC record") if not records else N_("more than one DMARC record")
        return Item("dmarc", False, " | ".join(records), publish, detail), {}
    tags = _tags(records[0])
    policy = tags.get("p", "")
    if policy not in ("none", "quarantine", "reject"):
        return Item("dmarc", False, records[0], publish, N_("the record has no valid policy (p=)")), tags
    return Item("dmarc", True, records[0], "", N_("present, policy %(policy)s", policy=policy)), tags


def check(settings: Settings, domain: str | None = None, selector: str | None = None) -> Report:
    """Check a From domain (default: the effective From's) with a selector (default: the configured one).

    `settings` are the effective ones (organisation.effective_settings). DnsUnavailable when DNS is silent.
    """
    domain = (domain or from_domain(settings)).lower().rstrip(".")
    selector = (selector if selector is not None else settings.guard.dkim_selector).lower()
    bounce = return_path_domain(settings, domain)
    dmarc, tags = _dmarc(settings, domain)
    signing_domain = settings.guard.dkim_domain
    if not settings.guard.dkim_enabled:
        dkim_aligned = Item(
            "dkim_alignment", False, "", "", N_("messages are not DKIM-signed (no selector, domain or key)")
        )
    elif aligned(domain, signing_domain, tags.get("adkim") == "s"):
        dkim_aligned = Item(
            "dkim_alignment", True, f"d={signing_domain}", "", N_("aligned with %(domain)s", domain=domain)
        )
    else:
        dkim_aligned = Item(
            "dkim_alignment",
            False,
            f"d={signing_domain}",
            f"DKIM_DOMAIN={domain}",
            N_("d=%(signing)s does not align with %(domain)s", signing=signing_domain, domain=domain),
        )
    if aligned(domain, bounce, tags.get("aspf") == "s"):
        path = Item("return_path_alignment", True, bounce, "", N_("aligned with %(domain)s", domain=domain))
    else:
        path = Item(
            "return_path_alignment",
            False,
            bounce,
            f"BOUNCE_DOMAIN=bounces.{domain}",
            N_("the return path %(bounce)s does not align with %(domain)s", bounce=bounce, domain=domain),
        )
    return Report(
        domain,
        selector,
        (_spf(settings, bounce), _dkim(settings, domain, selector), dmarc, dkim_aligned, path),
    )
