"""Who made a click or an open, from the request alone (R57): a person, a security scanner, a privacy proxy.

A click is a scanner's when it is a HEAD request, when its user agent names a mail security gateway or a
robot, when it comes within AUTOMATED_CLICK_SECONDS of its message's delivery (the rule of
audience/interactions.py), or when one visitor follows every link of the message within BURST_SECONDS
(burst.py). An open is a machine's when a privacy proxy fetched the image: Apple Mail Privacy Protection
(Apple's network 17.0.0.0/8, and its bare "Mozilla/5.0" user agent), Google's and Yahoo's image proxies.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

from sender.config import Settings
from sender.enums import EngagementClass
from sender.services.audience.interactions import too_soon

# Mail security gateways and link checkers that announce themselves (their documented or observed agents).
GATEWAY_AGENTS = re.compile(
    r"barracuda|proofpoint|mimecast|safelinks|trendmicro|symantec|messagelabs|ironport|fortiguard|"
    r"sophos|forcepoint|zscaler|bitdefender|kaspersky|checkpoint|urldefense|"
    r"bot\b|crawler|spider|python-requests|curl/|wget/|go-http-client|headless",
    re.IGNORECASE,
)
# Google and Yahoo fetch images for their users through proxies that say so.
PROXY_AGENTS = re.compile(r"googleimageproxy|ggpht\.com|yahoomailproxy", re.IGNORECASE)
# Apple Mail Privacy Protection loads remote content from Apple's own network with a bare agent.
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
APPLE_MPP_AGENT = "Mozilla/5.0"


@dataclass(frozen=True)
class Visit:
    """What a request tells of its client: its method, address and user agent, and when it came."""

    method: str
    address: str
    user_agent: str
    at: datetime


def _apple(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in APPLE_NETWORK
    except ValueError:
        return False


def click(settings: Settings, visit: Visit, sent_at: datetime | None) -> EngagementClass:
    """A click's class before the burst check: scanner or human."""
    if visit.method == "HEAD" or GATEWAY_AGENTS.search(visit.user_agent) or not visit.user_agent:
        return EngagementClass.SCANNER
    if too_soon(settings, sent_at, visit.at):
        return EngagementClass.SCANNER
    return EngagementClass.HUMAN


def open_(visit: Visit) -> EngagementClass:
    """An open's class: a privacy proxy's (machine open) or a mail client's."""
    if PROXY_AGENTS.search(visit.user_agent) or _apple(visit.address):
        return EngagementClass.MACHINE_OPEN
    if visit.user_agent.strip() == APPLE_MPP_AGENT:
        return EngagementClass.MACHINE_OPEN
    return EngagementClass.HUMAN
