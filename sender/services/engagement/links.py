"""A campaign's links: found in its content at launch, recorded once, and rewritten in each message.

Only the links recorded here can be redirected to (no open redirect). Links to this deployment's own
public pages (unsubscribe, privacy portal, requalification, sign-up) are never recorded, so never
rewritten: they carry the person's signed tokens and are exits, not tracking (R56).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Campaign, CampaignLink
from sender.services.messages.variants import Parts

# An absolute http(s) URL in a template's source or a rendered part; template syntax ends it.
URL = re.compile(r"""https?://[^\s<>"'`{}|\\^]+""")
HREF = re.compile(r"""(href=")([^"]*)(")""")
# Punctuation that closes a sentence rather than a URL in plain text.
TRAILING = ".,;:!?)]"
MAX_URL = 2000


def _clean(url: str) -> str:
    return url.rstrip(TRAILING)


def found(sources: Iterable[str], own_base: str) -> list[str]:
    """The distinct absolute links of some template sources, in reading order, without our own pages'."""
    seen: dict[str, None] = {}
    for source in sources:
        for match in URL.finditer(source or ""):
            end = match.end()
            # A link continued by template syntax differs per person: it is left as it is.
            if source[end : end + 1] == "{":
                continue
            url = html.unescape(_clean(match.group(0)))
            if url.startswith(own_base) or len(url) > MAX_URL:
                continue
            seen.setdefault(url, None)
    return list(seen)


def sources_of(campaign: Campaign, parts: Parts) -> list[str]:
    """The sources whose links one content of a campaign carries: its layout, its HTML body, its text body."""
    layout = campaign.template.layout_html if campaign.template is not None else ""
    text_layout = campaign.template.layout_text if campaign.template is not None else ""
    return [layout, parts.body_html, text_layout, parts.body_text]


def ensure(
    session: Session, campaign_id: int, variant: int | None, sources: Iterable[str], own_base: str
) -> dict[str, int]:
    """Record the links of one variant's content not yet recorded; every link's id by its URL."""
    known = {
        url: link_id
        for link_id, url in session.execute(
            select(CampaignLink.id, CampaignLink.url).where(
                CampaignLink.campaign_id == campaign_id,
                CampaignLink.variant.is_(None) if variant is None else CampaignLink.variant == variant,
            )
        )
    }
    for position, url in enumerate(found(sources, own_base)):
        if url not in known:
            link = CampaignLink(campaign_id=campaign_id, variant=variant, position=position, url=url)
            session.add(link)
            session.flush()
            known[url] = link.id
    return known


def of_campaign(session: Session, campaign_id: int) -> dict[int | None, dict[str, int]]:
    """Every recorded link of a campaign: per variant, each link's id by its URL."""
    table: dict[int | None, dict[str, int]] = {}
    rows = session.execute(
        select(CampaignLink.variant, CampaignLink.url, CampaignLink.id).where(
            CampaignLink.campaign_id == campaign_id
        )
    )
    for variant, url, link_id in rows:
        table.setdefault(variant, {})[url] = link_id
    return table


def rewrite_html(document: str, target: Callable[[str], str | None]) -> str:
    """Every href whose URL `target` knows, replaced by what it answers (the sanitiser wrote them quoted)."""

    def swap(match: re.Match[str]) -> str:
        new = target(html.unescape(match.group(2)))
        return match.group(0) if new is None else f"{match.group(1)}{html.escape(new)}{match.group(3)}"

    return HREF.sub(swap, document)


def rewrite_text(text: str, target: Callable[[str], str | None]) -> str:
    """Every URL of a text part that `target` knows, replaced by what it answers."""

    def swap(match: re.Match[str]) -> str:
        raw = match.group(0)
        url = _clean(raw)
        new = target(url)
        return raw if new is None else new + raw[len(url) :]

    return URL.sub(swap, text)
