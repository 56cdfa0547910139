"""The checks shown before sending, computed in one place from the message as it would leave.

Each item is pass, warn, fail or skipped (not run). With an A/B test every variant is checked, each item
naming its variant. Images without alt text also stop the launch, in any variant (refuse_missing_alt). The
link check and SpamAssassin run only when asked (`network`), outside any database transaction: they wait
on other machines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.message import EmailMessage
from html.parser import HTMLParser

from sender.config import Settings
from sender.enums import CheckOutcome
from sender.i18n import N_
from sender.models import Campaign
from sender.services.composer import links, spam
from sender.services.errors import ValidationFailed
from sender.services.messages import variants
from sender.services.messages.preview import split

# Gmail clips a message whose HTML is larger than this ("[Message clipped]"), hiding the footer.
GMAIL_CLIP_BYTES = 102 * 1024
# RFC 5322's recommended line length; longer subjects are cut in most inboxes.
SUBJECT_MAX = 78


@dataclass(frozen=True)
class Check:
    """One item of the list: what is checked, its verdict and the detail that explains it."""

    key: str
    title: str
    outcome: CheckOutcome
    detail: str = ""
    # The A/B variant's letter the item is about; empty for a campaign without a test.
    variant: str = ""


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.without_alt: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            found = dict(attrs)
            if not (found.get("alt") or "").strip():
                self.without_alt.append(found.get("src") or "")


def images_without_alt(html: str) -> list[str]:
    """The src of every <img> of an HTML text without an alt text (missing or blank)."""
    parser = _Images()
    parser.feed(html)
    parser.close()
    return parser.without_alt


def refuse_missing_alt(campaign: Campaign, contents: Mapping[int | None, variants.Parts]) -> None:
    """Refuse to launch a campaign whose body, A/B variant (of `contents`, variants.contents) or template has
    an image without alt text (ValidationFailed at `body_html`, `ab_test` naming the variant, or `template`)."""
    layout = campaign.template.layout_html if campaign.template is not None else ""
    sources: list[tuple[str, int | None, str]] = [("body_html", None, campaign.body_html or "")]
    sources += [("ab_test", v, parts.body_html) for v, parts in contents.items() if v]
    for field, variant, source in [*sources, ("template", None, layout)]:
        missing = images_without_alt(source)
        if not missing:
            continue
        count, src = len(missing), missing[0][:200] or "(no src)"
        if variant is None:
            reason = N_(
                "%(count)s image(s) without alt text, first: %(src)s; describe each image (alt) before sending",
                count=count,
                src=src,
            )
        else:
            reason = N_(
                "variant %(name)s: %(count)s image(s) without alt text, first: %(src)s; describe each image "
                "(alt) before sending",
                name=variants.name(variant),
                count=count,
                src=src,
            )
        raise ValidationFailed({field: reason})


def _plain_text(body_text: str) -> Check:
    title = N_("Plain-text part")
    if body_text.strip():
        return Check("plain_text", title, CheckOutcome.PASS)
    return Check(
        "plain_text",
        title,
        CheckOutcome.WARN,
        N_("the text part holds only the footer: write a text version"),
    )


def _alt_text(html: str) -> Check:
    title = N_("Images with alt text")
    missing = images_without_alt(html)
    if not missing:
        return Check("alt_text", title, CheckOutcome.PASS)
    return Check(
        "alt_text",
        title,
        CheckOutcome.FAIL,
        N_("%(count)s image(s) without alt text, first: %(src)s", count=len(missing), src=missing[0][:200]),
    )


def _subject(subject: str) -> Check:
    title = N_("Subject length")
    if len(subject) <= SUBJECT_MAX:
        return Check("subject", title, CheckOutcome.PASS, N_("%(count)s characters", count=len(subject)))
    return Check(
        "subject",
        title,
        CheckOutcome.WARN,
        N_("%(count)s characters; over %(max)s, inboxes cut it", count=len(subject), max=SUBJECT_MAX),
    )


def _size(html: str) -> Check:
    title = N_("Message size")
    size = len(html.encode("utf-8"))
    kib = f"{size / 1024:.1f}"
    if size <= GMAIL_CLIP_BYTES:
        return Check("size", title, CheckOutcome.PASS, N_("%(kib)s KB of HTML", kib=kib))
    return Check(
        "size",
        title,
        CheckOutcome.FAIL,
        N_("%(kib)s KB of HTML: Gmail clips messages over 102 KB, footer included", kib=kib),
    )


def _links(
    html: str,
    settings: Settings,
    network: bool,
    allowed: Callable[[links.IpAddress], bool],
    known: dict[str, links.LinkResult],
) -> Check:
    title = N_("Links")
    if not network:
        return Check("links", title, CheckOutcome.SKIPPED, N_("not checked yet"))
    bounds = settings.composer
    # The system's own exits are skipped: they lead to this server.
    found = links.links_of(html, skip_prefix=settings.public_base_url)
    checked = found[: bounds.link_check_max_links]
    # `known` holds the links another variant's check already asked for: each link is requested once.
    asked = [url for url in checked if url not in known]
    for result in links.check(
        asked, timeout=bounds.link_check_timeout, concurrency=bounds.link_check_concurrency, allowed=allowed
    ):
        known[result.url] = result
    results = [known[url] for url in checked]
    broken = [result for result in results if not result.ok]
    unchecked = len(found) - len(checked)
    if broken:
        listed = "; ".join(f"{result.url} ({result.reason})" for result in broken[:5])
        return Check(
            "links",
            title,
            CheckOutcome.FAIL,
            N_("%(count)s broken: %(list)s", count=len(broken), list=listed),
        )
    if unchecked:
        return Check(
            "links",
            title,
            CheckOutcome.WARN,
            N_(
                "%(checked)s answer; %(unchecked)s more not checked",
                checked=len(checked),
                unchecked=unchecked,
            ),
        )
    return Check("links", title, CheckOutcome.PASS, N_("%(count)s link(s) answer", count=len(checked)))


def _spam(message: EmailMessage, network: bool) -> Check:
    title = N_("SpamAssassin")
    if spam.command() is None:
        return Check("spam", title, CheckOutcome.SKIPPED, N_("not available on this host"))
    if not network:
        return Check("spam", title, CheckOutcome.SKIPPED, N_("not checked yet"))
    found = spam.report(message.as_bytes())
    if found is None:
        return Check("spam", title, CheckOutcome.SKIPPED, N_("SpamAssassin gave no report"))
    hits = ", ".join(f"{name} ({score:+.1f})" for score, name, _ in found.rules if score > 0) or "-"
    outcome = CheckOutcome.FAIL if found.score >= found.threshold else CheckOutcome.PASS
    if outcome is CheckOutcome.PASS and found.score >= found.threshold / 2:
        outcome = CheckOutcome.WARN
    return Check(
        "spam",
        title,
        outcome,
        N_(
            "score %(score)s of %(threshold)s; rules: %(hits)s",
            score=found.score,
            threshold=found.threshold,
            hits=hits,
        ),
    )


def run(
    settings: Settings,
    campaign: Campaign,
    message: EmailMessage,
    *,
    network: bool = False,
    allowed: Callable[[links.IpAddress], bool] = links.public_only,
    variant: int | None = None,
    known: dict[str, links.LinkResult] | None = None,
) -> list[Check]:
    """Every check of an email campaign's message (of an A/B test's `variant`) as rendered for the sample
    contact; `network` runs the link check and SpamAssassin too (`allowed`: the SSRF rule for the link check;
    `known`: links already checked)."""
    rendered = split(message)
    found = [
        _plain_text(variants.parts(campaign, variant).body_text),
        _alt_text(rendered.html),
        _subject(rendered.subject),
        _size(rendered.html),
        _links(rendered.html, settings, network, allowed, {} if known is None else known),
        _spam(message, network),
    ]
    letter = variants.name(variant) if variant is not None else ""
    return [replace(check, variant=letter) for check in found]


def run_each(
    settings: Settings,
    campaign: Campaign,
    messages: Mapping[int | None, EmailMessage],
    *,
    network: bool = False,
    allowed: Callable[[links.IpAddress], bool] = links.public_only,
) -> list[Check]:
    """run() for each content's message (preview.messages: every A/B variant), in the variants' order."""
    known: dict[str, links.LinkResult] = {}
    found: list[Check] = []
    for variant, message in messages.items():
        found += run(
            settings, campaign, message, network=network, allowed=allowed, variant=variant, known=known
        )
    return found
