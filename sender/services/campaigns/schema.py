"""The one input model of a campaign's content, whoever writes it: the API, the staff composer, a script.

Field types and bounds are checked first; then the rules of the chosen channel (channels/base.py,
`ContentRules`): the templates it does not carry must be empty, the ones it requires must not be blank, each
fits its limit, and every template compiles in the sandbox (SMS: the text, rendered for a sample contact,
fits in one message). The audience (API: lists; composer: lists and segments), the purpose's existence and
the schedule belong to each use case and are checked by its service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import Field

from sender.channels.base import Channel, channels, get_channel
from sender.enums import BodyFormat, CampaignKind, TrackingMode
from sender.enums import Channel as ChannelName
from sender.i18n import LOCALES, N_
from sender.services.errors import ValidationFailed
from sender.services.input import Input, NonBlank, OneOf, Text
from sender.services.messages import formats, rendering

NAME_LIMIT = 200
SLUG_LIMIT = 64
# Requalification campaigns are made by their cycle, never given as input.
KINDS = (CampaignKind.MARKETING, CampaignKind.LEGAL_NOTICE)
# The campaign field holding each template a channel may render (ContentRules.parts).
PART_FIELDS = {"subject": "subject", "text": "body_text", "html": "body_html"}
# The fields saying how the body is written and whether its text part is derived (formats.py).
BODY_FIELDS = ("body_format", "body_source", "body_text_derived")


def _widest(part: str) -> int:
    """The largest limit any channel sets on a part: the field's bound; each channel then applies its own."""
    return max(channel.content.limits.get(part, 0) for channel in channels())


class CampaignDraft(Input):
    """A campaign's content; subject and bodies are sandboxed Jinja2 where `contact` is exposed."""

    name: Annotated[NonBlank, Field(max_length=NAME_LIMIT)]
    purpose: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=SLUG_LIMIT,
            description="Slug of the purpose; only contacts consenting to it receive.",
        ),
    ]
    channel: Annotated[str, OneOf(ChannelName)] = ChannelName.EMAIL
    kind: Annotated[str, OneOf(KINDS)] = CampaignKind.MARKETING
    subject: Annotated[
        Text,
        Field(
            max_length=_widest("subject"),
            description="Jinja2 (sandboxed); `contact` is exposed. Required for email; SMS have none.",
        ),
    ] = ""
    body_format: Annotated[
        str,
        OneOf(BodyFormat),
        Field(description="How body_source is written; the HTML part is derived from it (email)."),
    ] = BodyFormat.HTML
    body_source: Annotated[
        Text,
        Field(
            max_length=_widest("html"),
            description="The body as written in body_format (Jinja2 tags kept); for html, body_html may be "
            "given instead.",
        ),
    ] = ""
    body_html: Annotated[
        Text,
        Field(
            max_length=_widest("html"),
            description="Jinja2 (sandboxed, autoescaped). Derived from body_source unless body_format is html.",
        ),
    ] = ""
    body_text: Annotated[
        Text,
        Field(
            max_length=_widest("text"),
            description="Jinja2 (sandboxed). For SMS, the whole body: the sender's name and STOP are added.",
        ),
    ] = ""
    body_text_derived: Annotated[
        bool, Field(description="Derive body_text from the HTML part (what it says is ignored).")
    ] = False
    tracking_mode: Annotated[
        str,
        OneOf(TrackingMode),
        Field(
            description="How clicks and opens are measured: off (links go straight to their target), aggregate "
            "(a campaign-level redirect naming no one) or per_person (a signed per-delivery link and an open "
            "pixel, only for contacts who gave tracking consent; everyone else gets the aggregate redirect). "
            "Email marketing campaigns only."
        ),
    ] = TrackingMode.OFF
    locale: (
        Annotated[
            str,
            OneOf(LOCALES),
            Field(
                description="Language of the system footer for contacts without one; null: the organisation's."
            ),
        ]
        | None
    ) = None

    @classmethod
    def parse(cls, data: Any) -> Self:
        """The validated draft, or ValidationFailed naming each bad field (types first, then the channel's rules)."""
        draft = super().parse(data).derived()
        problems = draft.problems()
        if problems:
            raise ValidationFailed(problems)
        return draft

    def derived(self) -> Self:
        """The draft with its HTML derived from its source (formats.py) and, if asked, its text from the HTML."""
        source = self.body_source
        if self.body_format == BodyFormat.HTML:
            if source and self.body_html and source != self.body_html:
                raise ValidationFailed({"body_html": N_("give body_source or body_html, not both")})
            source = source or self.body_html
        elif self.body_html:
            raise ValidationFailed({"body_html": N_("is derived from body_source in this format")})
        html, text = formats.parts(
            self.body_format, source, self.body_text, text_derived=self.body_text_derived
        )
        return self.model_copy(update={"body_source": source, "body_html": html, "body_text": text})

    def content(self) -> dict[str, Any]:
        """The campaign columns holding the draft's content, as stored."""
        return {
            name: getattr(self, name)
            for name in ("subject", "body_html", "body_text", *BODY_FIELDS, "tracking_mode")
        }

    def problems(self) -> dict[str, str]:
        """What the channel refuses in the templates, by field; compiled only when their sizes are right."""
        channel = get_channel(self.channel)
        rules = channel.content
        errors: dict[str, str] = {}
        for part, name in PART_FIELDS.items():
            value: str = getattr(self, name)
            limit = rules.limits.get(part)
            if limit is None:
                if value:
                    errors[name] = N_(
                        "%(name)s campaigns have only %(choices)s",
                        name=channel.name,
                        choices=", ".join(fields_of(channel)),
                    )
            elif part in rules.required and not value.strip():
                errors[name] = N_("is required")
            elif len(value) > limit:
                errors[name] = N_("must be at most %(n)d characters", n=limit)
        if not errors:
            try:
                # A render may take up to its time limit: callers parse before they open a transaction.
                rendering.check_templates(channel, self.subject, self.body_html, self.body_text)
            except ValidationFailed as exc:
                errors = dict(exc.errors)
        if self.tracking_mode != TrackingMode.OFF and (
            self.kind != CampaignKind.MARKETING or "html" not in rules.parts
        ):
            # Legal notices are never measured; a text-only channel has no link to rewrite nor pixel.
            errors["tracking_mode"] = N_("only email marketing campaigns can be tracked")
        if self.body_format != BodyFormat.HTML and "body_html" in errors:
            # The author wrote the source: the problem is shown there (its lines are the HTML's).
            errors["body_source"] = errors.pop("body_html")
        return errors


def fields_of(channel: Channel) -> list[str]:
    """The campaign fields holding the templates a channel renders."""
    return [PART_FIELDS[part] for part in channel.content.parts]


def keep_parts_of_channel(data: Mapping[str, Any]) -> dict[str, Any]:
    """The input without the templates its channel does not carry (a form keeps them while one switches)."""
    values = dict(data)
    if values.get("channel") in tuple(ChannelName):
        carried = set(fields_of(get_channel(values["channel"])))
        for name in PART_FIELDS.values():
            if name not in carried:
                values[name] = ""
        if "body_html" not in carried:
            values.update(
                body_source="",
                body_format=BodyFormat.HTML,
                body_text_derived=False,
                tracking_mode=TrackingMode.OFF,
            )
    return values
