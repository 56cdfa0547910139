"""Turning a campaign and a contact into a message: sandboxed content, system footer, then the channel's encoding.

Everything that is the same for every message of a batch (compiled templates, footers, the channel's
assembler) is prepared once in MessageRenderer; render() only fills in the person and their signed links,
then hands the result to the channel (email: MIME bytes, see channels/email/render.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from sender.channels.base import Channel, Content, RenderFailed, get_channel
from sender.config import Settings
from sender.enums import CampaignKind, SkipReason
from sender.i18n import N_, email_env, pick_locale
from sender.models import Campaign, Contact, Purpose
from sender.services.consent.links import portal_url, unsubscribe_url
from sender.services.consent.requalify_links import AskLink, answer_url
from sender.services.deliverability.verp import envelope_sender
from sender.services.engagement import links as tracked_links
from sender.services.engagement.plan import OFF, Rewrite, TrackingPlan
from sender.services.errors import ValidationFailed
from sender.services.messages import layouts, variants
from sender.services.messages.sandbox import (
    SAMPLE_CONTACT,
    RenderLimitExceeded,
    check_content,
    check_exits,
    compile_template,
    insert_footer,
    template_contact,
    validate_content,
)
from sender.services.records import times
from sender.tokens import TokenService

__all__ = ["EmailRenderer", "MessageRenderer", "check_sender_identity", "check_templates", "validate_content"]

_UNSUBSCRIBE_SLOT = "@@SENDER-UNSUBSCRIBE-URL@@"
_PORTAL_SLOT = "@@SENDER-PORTAL-URL@@"
_CONFIRM_SLOT = "@@SENDER-CONFIRM-URL@@"
_DECLINE_SLOT = "@@SENDER-DECLINE-URL@@"
_WITHDRAW_TRACKING_SLOT = "@@SENDER-WITHDRAW-TRACKING-URL@@"
# Variables a requalification template may use besides `contact`, with the sample values it is checked with.
ASK_VARIABLES = {
    "confirm_url": "https://example.invalid/requalify/confirm/x",
    "decline_url": "https://example.invalid/requalify/decline/x",
    "deadline": "2030-01-01 00:00 UTC",
    "wording_version": "1",
}


@dataclass(frozen=True)
class AskContext:
    """What a requalification message states: until when, and which consent wording it asks for."""

    deadline: datetime
    wording_version: int
    wording_text: str
    zone: ZoneInfo  # the organisation's: the deadline is stated in it


def check_sender_identity(settings: Settings, channel: Channel) -> None:
    """A marketing message must identify the advertiser (R18): refuse to launch without what the channel needs."""
    errors = channel.missing_settings(settings)
    if errors:
        raise ValidationFailed(errors)


def check_templates(channel: Channel, subject: str, body_html: str, body_text: str) -> None:
    """Check a campaign's templates for its channel: each compiles and renders for a sample contact, and
    where the channel measures its text (SMS segments), the sample's text fits; else ValidationFailed."""
    validate_content(subject, body_html, body_text)
    check_text = channel.content.check_text
    if check_text is not None and "text" in channel.content.parts:
        problem = check_text(compile_template(body_text, html=False).render(contact=SAMPLE_CONTACT).strip())
        if problem:
            raise ValidationFailed({"body_text": problem})


class MessageRenderer:
    """Renders one campaign for many contacts on its channel; build it once per batch, share it between threads.

    Raises ValidationFailed at construction if the campaign's templates do not pass `check`: check_content()
    in this process by default (the send loop's worker), validate_content() for a preview in the web
    process. render() raises RenderFailed when one person's message cannot be rendered or encoded.
    """

    def __init__(
        self,
        settings: Settings,
        tokens: TokenService,
        campaign: Campaign,
        purpose: Purpose,
        ask: AskContext | None = None,
        *,
        check: Callable[[str, str, str, Mapping[str, str] | None], None] = check_content,
        tracking: TrackingPlan = OFF,
        variant: int | None = None,
    ) -> None:
        # An A/B test's batch renders its variant's content (variants.py); otherwise the campaign's own.
        parts = variants.parts(campaign, variant)
        if campaign.kind == CampaignKind.REQUALIFICATION and ask is None:
            raise ValidationFailed(
                {"campaign": N_("a requalification message needs its cycle (deadline, wording)")}
            )
        self.ask = ask if campaign.kind == CampaignKind.REQUALIFICATION else None
        check(parts.subject, parts.body_html, parts.body_text, ASK_VARIABLES if self.ask else None)
        self.settings, self.tokens = settings, tokens
        self.channel: Channel = get_channel(campaign.channel)
        self.campaign_id, self.purpose_id = campaign.id, purpose.id
        carried = self.channel.content.parts
        self._subject = compile_template(parts.subject, html=False) if "subject" in carried else None
        self._text = compile_template(parts.body_text, html=False) if "text" in carried else None
        self._html = compile_template(parts.body_html, html=True) if "html" in carried else None
        # The template's layout wraps the rendered body before the sanitiser and the footer (layouts.py).
        self._layout = (
            layouts.prepare(campaign.template.layout_html, campaign.template.layout_text, settings)
            if campaign.template is not None and self._html is not None
            else None
        )
        # A legal notice is not subscription mail: no unsubscribe exit (R30),
        # but it still identifies the sender and leads to the privacy portal.
        self.subscription = campaign.kind != CampaignKind.LEGAL_NOTICE
        context: dict[str, Any] = {
            "org_name": settings.org_name,
            "org_address": settings.org_address,
            "org_contact_email": settings.org_contact_email,
            "dpo_contact": settings.dpo_contact,
            "purpose_name": purpose.name,
            "purpose_description": purpose.description,
            "unsubscribe_url": _UNSUBSCRIBE_SLOT if self.subscription else None,
            "portal_url": _PORTAL_SLOT,
        }
        # The footer speaks the contact's language, else the campaign's, else the organisation's (issue 9);
        # it is rendered once per language and batch.
        self._footer_context = context
        self._footers: dict[str, tuple[str, str]] = {}
        self.locale = campaign.locale
        self._variables: dict[str, str] = {}
        if self.ask is not None:
            # The links are variables for the template, and the system adds them again in its own block
            # beside the footer: a template cannot drop them.
            self._variables = {
                "confirm_url": _CONFIRM_SLOT,
                "decline_url": _DECLINE_SLOT,
                "deadline": times.spoken(
                    self.ask.deadline,
                    self.ask.zone,
                    pick_locale(self.locale, default=settings.default_locale),
                ),
                "wording_version": str(self.ask.wording_version),
            }
            self._footer_context.update(
                self._variables,
                wording_text=self.ask.wording_text,
                silence=settings.requalification_silence,
            )
        self._assembler = self.channel.assembler(settings, campaign, purpose)
        # Links are rewritten (and a pixel added) only in HTML messages: a text-only channel stays untracked.
        self.tracking = tracking if "html" in carried else OFF
        self.variant = variant
        self._tracking_blocks: dict[str, tuple[str, str]] = {}

    def render(self, contact: Contact, delivery_id: int) -> Any:
        """The channel's complete message for one contact; RenderFailed if it cannot be made."""
        address, content = self._prepared(contact, delivery_id)
        return self._assembler.assemble(address, content, delivery_id)

    def render_test(self, contact: Contact) -> Any:
        """A test of the message for a tester at `contact`'s address, marked by the channel (TEST_MARK)."""
        address, content = self._prepared(contact, 0)
        return self._assembler.assemble_test(address, content)

    def _prepared(self, contact: Contact, delivery_id: int) -> tuple[str, Content]:
        """The contact's address on the channel and their rendered content; RenderFailed if it cannot be made."""
        address = self.channel.address.of(contact)
        if not address:
            raise RenderFailed(
                f"the contact has no {self.channel.name} address", reason=SkipReason.NO_ADDRESS
            )
        try:
            content = self.content(contact, delivery_id)
        except RenderFailed:
            raise
        except RenderLimitExceeded as exc:
            # Its message names the limit that was hit, never the template's output or the person's data.
            raise RenderFailed(str(exc)) from None
        except Exception as exc:
            # A template or a contact's data broke this message only; the type says what, never the data.
            raise RenderFailed(f"template error: {type(exc).__name__}") from None
        # Bounces of this message come back to an address naming its delivery (VERP, when BOUNCE_DOMAIN is set).
        content = replace(content, return_path=envelope_sender(self.settings, delivery_id))
        return address, content

    def content(self, contact: Contact, delivery_id: int | None = None) -> Content:
        """The rendered subject, text and HTML of one contact, system footer and signed links in place.

        With a delivery (a real message), the campaign's tracking plan rewrites its links; a preview has none.
        """
        view = template_contact(contact)
        variables = self._variables
        subject = self._subject.render(contact=view, **variables) if self._subject is not None else ""
        text = self._text.render(contact=view, **variables) if self._text is not None else ""
        html = self._html.render(contact=view, **variables) if self._html is not None else ""
        portal = portal_url(self.settings, self.tokens, contact.public_id)
        locale = pick_locale(contact.locale, self.locale, default=self.settings.default_locale)
        footer_text, footer_html = self._footer(locale)
        footer_text = footer_text.replace(_PORTAL_SLOT, portal)
        footer_html = footer_html.replace(_PORTAL_SLOT, str(escape(portal)))
        if self.ask is not None:
            link = AskLink(contact.public_id, self.campaign_id, self.purpose_id)
            for slot, answer in ((_CONFIRM_SLOT, "confirm"), (_DECLINE_SLOT, "decline")):
                url = answer_url(self.settings, self.tokens, answer, link)
                safe = str(escape(url))
                text, footer_text = text.replace(slot, url), footer_text.replace(slot, url)
                html, footer_html = html.replace(slot, safe), footer_html.replace(slot, safe)
        unsubscribe = None
        if self.subscription:
            unsubscribe = unsubscribe_url(
                self.settings,
                self.tokens,
                contact.public_id,
                self.purpose_id,
                self.channel.name,
                self.campaign_id,
            )
            footer_text = footer_text.replace(_UNSUBSCRIBE_SLOT, unsubscribe)
            footer_html = footer_html.replace(_UNSUBSCRIBE_SLOT, str(escape(unsubscribe)))
        if self._layout is not None:
            html = self._layout.wrap_html(html)
            text = self._layout.wrap_text(text) if text else text
        rewrite = (
            self.tracking.for_message(contact.id, contact.public_id, delivery_id, self.variant)
            if delivery_id is not None
            else Rewrite({})
        )
        if rewrite.withdraw_url is not None:
            block_text, block_html = self._tracking_block(locale)
            footer_text += block_text.replace(_WITHDRAW_TRACKING_SLOT, rewrite.withdraw_url)
            footer_html += block_html.replace(_WITHDRAW_TRACKING_SLOT, str(escape(rewrite.withdraw_url)))
        if rewrite.pixel is not None and self._html is not None:
            footer_html += f'<img src="{escape(rewrite.pixel)}" width="1" height="1" alt="">'
        if text and not text.endswith("\n"):
            text += "\n"
        # The footer is added after the marketer's template has run and its HTML has been sanitised
        # (every element closed), so no template can remove or hide it; the check is a last guard.
        text += footer_text
        if self._html is None:
            html = ""
        elif self._layout is not None:
            html = insert_footer(html, footer_html, layouts.HEAD, layouts.TAIL)
        else:
            html = insert_footer(html, footer_html)
        if rewrite.target:
            # Only the campaign's recorded links, found in the sanitised markup: our own pages (the footer's
            # exits, the withdrawal of tracking, the pixel) are never recorded, so never rewritten.
            text = tracked_links.rewrite_text(text, rewrite.target.get)
            html = tracked_links.rewrite_html(html, rewrite.target.get)
        if self._html is not None:
            check_exits(text, html, [url for url in (portal, unsubscribe) if url])
        return Content(
            subject=subject,
            text=text,
            html=html,
            unsubscribe_url=unsubscribe,
            portal_url=portal,
            locale=locale,
        )

    def _tracking_block(self, locale: str) -> tuple[str, str]:
        """The text and HTML block inviting a tracked person to withdraw tracking, in the footer's language."""
        if locale not in self._tracking_blocks:
            env = email_env(locale)
            context = {"locale": locale, "withdraw_url": _WITHDRAW_TRACKING_SLOT}
            text = env.get_template("email/tracking.txt").render(context)
            html = env.get_template("email/tracking.html").render(context) if self._html is not None else ""
            self._tracking_blocks[locale] = (text, html)
        return self._tracking_blocks[locale]

    def _footer(self, locale: str) -> tuple[str, str]:
        """The channel's text and HTML footers in the language chosen for this contact."""
        if locale not in self._footers:
            env, context, name = (
                email_env(locale),
                {**self._footer_context, "locale": locale},
                self.channel.name,
            )
            if self.ask is not None:
                # The system's block states the deadline in the organisation's zone, in the footer's language.
                context["deadline"] = times.spoken(self.ask.deadline, self.ask.zone, locale)
            # A requalification message carries the system's answer block (both links, the wording, the
            # deadline) just before the footer, where the template's markup cannot reach it.
            blocks = (
                [f"{name}/requalification", f"{name}/footer"] if self.ask is not None else [f"{name}/footer"]
            )
            text = "".join(env.get_template(f"{block}.txt").render(context) for block in blocks)
            html = (
                "".join(env.get_template(f"{block}.html").render(context) for block in blocks)
                if self._html is not None
                else ""
            )
            # Threads of one batch may both render a language first: the results are equal.
            self._footers[locale] = (text, html)
        return self._footers[locale]


# The campaigns of the first channel were email only; callers that build one by that name keep working.
EmailRenderer = MessageRenderer
