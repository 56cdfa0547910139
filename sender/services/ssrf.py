"""The SSRF rule, in one place: which addresses sender may connect to when someone else chose the URL.

The composer's link check and outgoing webhooks both resolve a host, check every address it resolves to
against the rule, and connect to a checked address (never to the name again, so a second lookup cannot
lead inside: DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from sender.enums import OutboundError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Rule = Callable[[IpAddress], bool]


class Refused(Exception):
    """The host does not resolve, or resolves to an address the rule refuses."""

    def __init__(self, code: OutboundError) -> None:
        super().__init__(code)
        self.code = code


def public_only(address: IpAddress) -> bool:
    """The SSRF rule: only globally routable addresses may be fetched (no loopback, private, link-local,
    reserved or multicast address)."""
    return address.is_global and not address.is_multicast


def any_unicast(address: IpAddress) -> bool:
    """The rule when a setting allows private receivers: any unicast address but the unspecified one."""
    return not (address.is_multicast or address.is_unspecified)


def rule(allow_private: bool) -> Rule:
    """The rule in force: public addresses only, unless the setting allows private ones."""
    return any_unicast if allow_private else public_only


def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address `host` resolves to (a literal address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def checked_address(host: str, port: int, allowed: Rule) -> IpAddress:
    """The address to connect to: the first of `host`'s, when the rule allows every one of them.

    Raises Refused naming why (unresolved, or a private address)."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise Refused(OutboundError.UNRESOLVED) from None
    if not addresses:
        raise Refused(OutboundError.UNRESOLVED)
    if not all(allowed(address) for address in addresses):
        raise Refused(OutboundError.PRIVATE_ADDRESS)
    return addresses[0]
