"""Drafts composed in the staff pages: saved (and re-saved) with lists and segments, deleted while drafts.

A scheduled campaign may be edited too: saving it returns it to draft (the state machine's `unschedule`),
and it leaves only once scheduled or sent again, so nobody's edit goes out unseen at the old time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.enums import CampaignStatus, PurposeKind
from sender.i18n import N_
from sender.models import Campaign, ContactList, Purpose, Segment
from sender.services.audience import segments
from sender.services.campaigns import ab_setup, states
from sender.services.campaigns.schema import BODY_FIELDS, PART_FIELDS, CampaignDraft, keep_parts_of_channel
from sender.services.composer import templates
from sender.services.errors import Conflict, ValidationFailed
from sender.services.messages import formats
from sender.services.records import audit

# The composer's fields that are the campaign's content; its templates default to empty.
CONTENT = (
    "name",
    "purpose",
    "channel",
    "kind",
    "template_id",
    *PART_FIELDS.values(),
    *BODY_FIELDS,
    "tracking_mode",
    "ab_test",
)
TEMPLATES = dict.fromkeys(PART_FIELDS.values(), "")
# The composer shows the problems of the derived HTML at the source it was written in.
SOURCE = {"body_html": "body_source"}
# What the composer may still change: nothing has been planned for these.
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


def _ids(session: Session, model: type[ContactList] | type[Segment], raw: Sequence[int]) -> list[Any]:
    wanted = sorted(set(raw))
    if not wanted:
        return []
    return list(session.scalars(select(model).where(model.id.in_(wanted))))


def stored(session: Session, campaign: Campaign) -> dict[str, Any]:
    """A saved campaign's content as `save` takes it: what the composer and the A/B test page start from."""
    purpose = session.get(Purpose, campaign.purpose_id)
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "purpose": purpose.slug if purpose else "",
        "kind": campaign.kind,
        "lists": [lst.id for lst in campaign.lists],
        "segments": segments.of_campaign(session, campaign.id),
        "subject": campaign.subject,
        "body_text": campaign.body_text,
        "body_format": campaign.body_format,
        "body_source": formats.source_of(campaign.body_format, campaign.body_source, campaign.body_html),
        "body_text_derived": campaign.body_text_derived,
        "template_id": campaign.template_id,
        "tracking_mode": campaign.tracking_mode,
        "ab_test": ab_setup.input_of(campaign),
    }


def save(session: Session, campaign: Campaign | None, data: Mapping[str, Any], actor: str) -> Campaign:
    """Create a draft, or update one (a scheduled one returns to draft); lists and/or segments. The caller commits.

    The content is checked by the campaign schema, as the API's (before the session is used: a render may
    take up to its time limit); the purpose and the audience are checked here.
    """
    if campaign is not None and campaign.status not in EDITABLE:
        raise Conflict(
            N_(
                "campaign is %(status)s; %(refusal)s",
                status=campaign.status,
                refusal=states.UNSCHEDULE.refusal,
            )
        )
    # A form sends every field, empty ones as "" or None: they mean "not given", and the schema's defaults apply.
    given = {name: data.get(name) for name in CONTENT if data.get(name)}
    if "ab_test" not in data and campaign is not None and campaign.ab_test is not None:
        # The composer edits variant A: the test (its own page) is kept, and checked against the new A.
        given["ab_test"] = ab_setup.input_of(campaign)
    errors: dict[str, str] = {}
    draft = None
    try:
        # A subject or HTML left in the form from an email draft is dropped when SMS is chosen.
        draft = CampaignDraft.parse(keep_parts_of_channel({**TEMPLATES, **given}))
    except ValidationFailed as exc:
        # The composer's body is its source, whatever the format: a problem of its HTML is shown there.
        errors.update({SOURCE.get(name, name): problem for name, problem in exc.errors.items()})
    purpose = session.scalar(select(Purpose).where(Purpose.slug == (data.get("purpose") or "")))
    if purpose is None:
        errors["purpose"] = N_("choose a purpose")
    elif purpose.kind == PurposeKind.TRACKING:
        errors["purpose"] = N_("a tracking purpose measures messages; it cannot be what they are sent for")
    lists = _ids(session, ContactList, data.get("lists") or [])
    chosen_segments = _ids(session, Segment, data.get("segments") or [])
    if not lists and not chosen_segments:
        errors["lists"] = N_("choose at least one list or segment")
    if (
        draft is not None
        and draft.template_id is not None
        and not templates.known(session, draft.template_id)
    ):
        errors["template_id"] = N_("no such template")
    if errors:
        raise ValidationFailed(errors)
    assert draft is not None and purpose is not None
    if campaign is not None and campaign.status == CampaignStatus.SCHEDULED:
        # Guarded: if the launch won the race, this is a Conflict and nothing is saved.
        states.move(session, campaign, states.UNSCHEDULE, scheduled_at=None)
    target = campaign or Campaign(status=CampaignStatus.DRAFT, created_by=actor)
    target.channel = draft.channel
    target.name = draft.name.strip()
    for column, value in draft.content().items():
        setattr(target, column, value)
    target.kind, target.purpose_id, target.lists = draft.kind, purpose.id, lists
    ab_setup.store(target, draft)
    session.add(target)
    session.flush()
    segments.set_for_campaign(session, target.id, [s.id for s in chosen_segments])
    audit.record(
        session, actor, "campaign.save" if campaign else "campaign.create", "campaign", target.id, {}
    )
    return target


def delete(session: Session, campaign: Campaign, actor: str) -> None:
    """Delete a draft (nothing was planned or sent for it); the caller commits."""
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(N_("campaign is %(status)s; only a draft can be deleted", status=campaign.status))
    audit.record(session, actor, "campaign.delete", "campaign", campaign.id, {"name": campaign.name})
    session.delete(campaign)
    session.flush()
