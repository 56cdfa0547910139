"""A real DNS server for tests (dnslib, UDP on 127.0.0.1, a free port) answering from records the test sets.

    with DnsTestServer() as dns:
        dns.txt("_dmarc.example.org", "v=DMARC1; p=reject")
        settings = settings.with_overrides(guard=replace(settings.guard, dns_nameservers=dns.nameservers))

Long TXT values are split into strings of 255 bytes, as a zone file would publish them.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from sender.config_guard import Nameserver


class _Zone(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.lock = threading.Lock()

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            answers = list(self.records.get((name, qtype), []))
            known = any(key[0] == name for key in self.records)
        for rdata in answers:
            reply.add_answer(RR(DNSLabel(name), getattr(QTYPE, qtype), rdata=rdata, ttl=60))
        if not answers and not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class DnsTestServer:
    """UDP DNS server in a thread; TXT and A records set by the test."""

    def __init__(self) -> None:
        self.zone = _Zone()
        self.port = _free_udp_port()
        self._server = DNSServer(
            self.zone, address="127.0.0.1", port=self.port, logger=DNSLogger(log="-", prefix=False)
        )

    @property
    def nameservers(self) -> tuple[Nameserver, ...]:
        """The DNS_NAMESERVERS value pointing at this server."""
        return (Nameserver("127.0.0.1", self.port),)

    def txt(self, name: str, value: str) -> None:
        """Publish a TXT record (split into 255-byte strings)."""
        data = value.encode()
        chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
        with self.zone.lock:
            self.zone.records[(name.lower(), "TXT")].append(TXT(chunks))

    def a(self, name: str, address: str) -> None:
        """Publish an A record."""
        with self.zone.lock:
            self.zone.records[(name.lower(), "A")].append(A(address))

    def __enter__(self) -> DnsTestServer:
        self._server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._server.server.server_close()
