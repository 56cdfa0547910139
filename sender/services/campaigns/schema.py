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
from sender.enums import AbDecision, BodyFormat, CampaignKind, TrackingMode
from sender.enums import Channel as ChannelName
from sender.i18n import LOCALES, N_
from sender.services.errors import ValidationFailed
from sender.services.input import Id, Input, NonBlank, OneOf, Text
from sender.services.messages import formats, rendering, variants

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


# An A/B test: the campaign's content is variant A; up to three more (B, C, D), each to `test_percent` %.
MAX_VARIANTS = 3
TEST_PERCENT = (1, 50)
WAIT_MINUTES = (10, 30 * 24 * 60)


class VariantDraft(Input):
    """An alternative content: what it leaves empty is variant A's."""

    subject: Annotated[
        Text, Field(max_length=_widest("subject"), description="Empty: variant A's subject.")
    ] = ""
    body_source: Annotated[
        Text,
        Field(
            max_length=_widest("html"),
            description="The body in the campaign's body_format; empty: variant A's body.",
        ),
    ] = ""
    body_text: Annotated[
        Text,
        Field(
            max_length=_widest("text"),
            description="The text part (SMS: the whole body); empty: variant A's, or derived from this "
            "variant's HTML when the campaign derives its text.",
        ),
    ] = ""
    # Filled by CampaignDraft.derived(): the variant's HTML template, from its source.
    body_html: Annotated[Text, Field(max_length=_widest("html"), description="Derived from body_source.")] = (
        ""
    )


class AbTestDraft(Input):
    """An A/B test: variants B to D beside the campaign's own content (A), a test share each, then the winner."""

    variants: Annotated[
        list[VariantDraft],
        Field(min_length=1, max_length=MAX_VARIANTS, description="Variants B, C and D (A is the campaign)."),
    ]
    test_percent: Annotated[
        int,
        Field(
            ge=TEST_PERCENT[0],
            le=TEST_PERCENT[1],
            description="Share of the audience each variant (A included) is sent to first, in percent; "
            "the rest receives the winner.",
        ),
    ] = 10
    wait_minutes: Annotated[
        int,
        Field(
            ge=WAIT_MINUTES[0],
            le=WAIT_MINUTES[1],
            description="How long after the launch the winner is chosen by its clicks.",
        ),
    ] = 240
    decide_by: Annotated[
        str,
        OneOf(AbDecision),
        Field(
            description="clicks: the variant with the most unique aggregate clicks wins when the wait is over "
            "(needs link tracking); manual: a person picks it."
        ),
    ] = AbDecision.CLICKS


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
    template_id: (
        Annotated[
            Id,
            Field(
                description="The library template (layout) the body is wrapped in; null: the body alone. "
                "Frozen when the campaign launches."
            ),
        ]
        | None
    ) = None
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
    ab_test: (
        Annotated[
            AbTestDraft,
            Field(description="An A/B test of this campaign's content against up to three variants."),
        ]
        | None
    ) = None
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
        draft = self.model_copy(update={"body_source": source, "body_html": html, "body_text": text})
        if self.ab_test is None:
            return draft
        alternatives = [draft._variant(i, v) for i, v in enumerate(self.ab_test.variants, start=1)]
        return draft.model_copy(
            update={"ab_test": self.ab_test.model_copy(update={"variants": alternatives})}
        )

    def _variant(self, position: int, given: VariantDraft) -> VariantDraft:
        """A variant stored whole: what it leaves empty is variant A's, its HTML derived from its source."""
        source = given.body_source or self.body_source
        # A new HTML body beside a hand-written text part of A's would leave the two saying different things.
        if (
            given.body_source
            and not self.body_text_derived
            and "text" in get_channel(self.channel).content.parts
            and not given.body_text
            and self.body_text
        ):
            raise ValidationFailed(
                {
                    "ab_test": N_(
                        "variant %(name)s: give its text part too, or derive the text part from the HTML",
                        name=variants.NAMES[position],
                    )
                }
            )
        html, text = formats.parts(
            self.body_format, source, given.body_text or self.body_text, text_derived=self.body_text_derived
        )
        whole = {"subject": given.subject or self.subject, "body_html": html, "body_text": text}
        # The parts its channel does not carry stay empty, as the campaign's own (keep_parts_of_channel).
        carried = fields_of(get_channel(self.channel))
        kept = {name: value if name in carried else "" for name, value in whole.items()}
        return VariantDraft(body_source=source if kept["body_html"] else "", **kept)

    def content(self) -> dict[str, Any]:
        """The campaign columns holding the draft's content, as stored."""
        return {
            name: getattr(self, name)
            for name in ("subject", "body_html", "body_text", "template_id", *BODY_FIELDS, "tracking_mode")
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
        if self.ab_test is not None:
            problem = self._ab_problem(channel)
            if problem:
                errors["ab_test"] = problem
        if self.body_format != BodyFormat.HTML and "body_html" in errors:
            # The author wrote the source: the problem is shown there (its lines are the HTML's).
            errors["body_source"] = errors.pop("body_html")
        return errors

    def _ab_problem(self, channel: Channel) -> str | None:
        """What is wrong with the A/B test, if anything: its kind, its shares, its decision, each variant."""
        test = self.ab_test
        assert test is not None
        if self.kind != CampaignKind.MARKETING:
            return N_("only marketing campaigns can have an A/B test")
        if (len(test.variants) + 1) * test.test_percent > 100:
            return N_(
                "%(n)d variants of %(percent)d %% each add up to more than the audience",
                n=len(test.variants) + 1,
                percent=test.test_percent,
            )
        if test.decide_by == AbDecision.CLICKS and self.tracking_mode == TrackingMode.OFF:
            return N_(
                "a winner chosen by clicks needs link tracking (aggregate or per person); turn it on, "
                "or pick the winner yourself"
            )
        seen = {(self.subject, self.body_html, self.body_text): "A"}
        for position, variant in enumerate(test.variants, start=1):
            name = variants.NAMES[position]
            content = (variant.subject, variant.body_html, variant.body_text)
            if content in seen:
                return N_("variant %(name)s is the same as variant %(other)s", name=name, other=seen[content])
            seen[content] = name
            for part, field_name in PART_FIELDS.items():
                value: str = getattr(variant, field_name)
                limit = channel.content.limits.get(part)
                if limit is not None and len(value) > limit:
                    return N_(
                        "variant %(name)s, %(field)s: must be at most %(n)d characters",
                        name=name,
                        field=field_name,
                        n=limit,
                    )
            try:
                rendering.check_templates(channel, variant.subject, variant.body_html, variant.body_text)
            except ValidationFailed as exc:
                field_name, problem = next(iter(exc.errors.items()))
                return N_(
                    "variant %(name)s, %(field)s: %(problem)s", name=name, field=field_name, problem=problem
                )
        return None

    def variants(self) -> list[dict[str, str]]:
        """The A/B test's variants B to D as stored (CampaignVariant columns), in order."""
        if self.ab_test is None:
            return []
        return [
            {name: getattr(v, name) for name in ("subject", "body_source", "body_html", "body_text")}
            for v in self.ab_test.variants
        ]


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
