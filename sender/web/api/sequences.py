"""API resource: sequences (build, inspect, preview a step, activate, pause) and their funnels."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from flask.typing import ResponseReturnValue

from sender.enums import Channel as ChannelName
from sender.enums import SequenceStatus, SequenceTrigger
from sender.models import Purpose, Sequence
from sender.services.messages import formats
from sender.services.sequences import build, report, states
from sender.services.sequences.schema import SequenceInput
from sender.web.api.inputs import parse_body
from sender.web.api.present import ts
from sender.web.api.spec import ID, TIMESTAMP, Component, nullable, obj
from sender.web.session import get_session, runtime

COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
STEP = Component(
    "SequenceStep",
    obj(
        {
            "position": {"type": "integer", "minimum": 0},
            "campaign_id": ID,
            "channel": {"type": "string", "enum": list(ChannelName)},
            "delay_value": {"type": "integer", "minimum": 0},
            "delay_unit": {"type": "string", "enum": ["hours", "days"]},
            "at_time": nullable({"type": "string"}),
            "subject": {"type": "string"},
            "body_format": {"type": "string"},
            "body_source": {"type": "string"},
            "body_text": {"type": "string"},
            "counts": obj(
                {
                    "entered": {"type": "integer"},
                    "sent": {"type": "integer"},
                    "skipped": COUNTS,
                    "exited": {"type": "integer"},
                    "by_status": COUNTS,
                },
                ["entered", "sent", "skipped", "exited", "by_status"],
            ),
        },
        ["position", "campaign_id", "channel", "delay_value", "delay_unit", "at_time", "counts"],
        additionalProperties=True,
    ),
)
SEQUENCE = Component(
    "Sequence",
    obj(
        {
            "id": ID,
            "name": {"type": "string"},
            "purpose": nullable({"type": "string"}),
            "trigger": {"type": "string", "enum": list(SequenceTrigger)},
            "trigger_list_id": nullable(ID),
            "trigger_segment_id": nullable(ID),
            "trigger_field": nullable({"type": "string"}),
            "status": {"type": "string", "enum": list(SequenceStatus)},
            "created_at": TIMESTAMP,
            "activated_at": nullable(TIMESTAMP),
            "funnel": obj(
                {n: {"type": "integer"} for n in ("entered", "active", "completed", "exited")},
                ["entered", "active", "completed", "exited"],
            ),
            "steps": {"type": "array", "items": STEP},
        },
        ["id", "name", "purpose", "trigger", "status", "funnel", "steps"],
        additionalProperties=True,
    ),
)
PREVIEW = Component(
    "SequenceStepPreview",
    obj(
        {n: {"type": "string"} for n in ("channel", "subject", "text", "html")},
        ["channel", "subject", "text", "html"],
    ),
)


def present(sequence: Sequence) -> dict[str, Any]:
    """A sequence as JSON: its trigger, status, steps and the funnel of each."""
    session = get_session()
    purpose = session.get(Purpose, sequence.purpose_id)
    figures = report.funnel(session, sequence)
    steps = []
    for step, counts in zip(sequence.steps, figures.steps, strict=True):
        campaign = step.campaign
        steps.append(
            {
                "position": step.position,
                "campaign_id": campaign.id,
                "channel": campaign.channel,
                "delay_value": step.delay_value,
                "delay_unit": step.delay_unit,
                "at_time": step.at_time,
                "subject": campaign.subject,
                "body_format": campaign.body_format,
                "body_source": formats.source_of(
                    campaign.body_format, campaign.body_source, campaign.body_html
                ),
                "body_text": campaign.body_text,
                "counts": {
                    "entered": counts.entered,
                    "sent": counts.sent,
                    "skipped": counts.skipped,
                    "exited": counts.exited,
                    "by_status": counts.by_status,
                },
            }
        )
    return {
        "id": sequence.id,
        "name": sequence.name,
        "purpose": purpose.slug if purpose else None,
        "trigger": sequence.trigger,
        "trigger_list_id": sequence.trigger_list_id,
        "trigger_segment_id": sequence.trigger_segment_id,
        "trigger_field": sequence.trigger_field,
        "status": sequence.status,
        "created_at": ts(sequence.created_at),
        "activated_at": ts(sequence.activated_at),
        "funnel": {
            "entered": figures.entered,
            "active": figures.active,
            "completed": figures.completed,
            "exited": figures.exited,
        },
        "steps": steps,
    }


def create_sequence() -> ResponseReturnValue:
    """Create a draft sequence with its steps."""
    body = parse_body(SequenceInput)
    sequence = build.save(get_session(), None, body, g.actor)
    return jsonify(present(sequence)), 201


def list_sequences() -> ResponseReturnValue:
    """Every sequence, newest first."""
    return jsonify({"items": [present(s) for s in build.all_sequences(get_session())]})


def get_sequence(sequence_id: int) -> ResponseReturnValue:
    """One sequence with its funnel."""
    return jsonify(present(build.get(get_session(), sequence_id)))


def update_sequence(sequence_id: int) -> ResponseReturnValue:
    """Rewrite a draft sequence."""
    body = parse_body(SequenceInput)
    session = get_session()
    sequence = build.save(session, build.get(session, sequence_id), body, g.actor)
    return jsonify(present(sequence))


def preview_step(sequence_id: int, step: int) -> ResponseReturnValue:
    """A step's message (numbered from 1) for the sample contact."""
    session = get_session()
    sequence = build.get(session, sequence_id)
    shown = build.step_at(sequence, step - 1)
    rendered = report.preview(runtime(), session, sequence, shown.position)
    return jsonify(vars(rendered))


def activate_sequence(sequence_id: int) -> ResponseReturnValue:
    """Activate (or resume) a sequence."""
    session = get_session()
    sequence = build.get(session, sequence_id)
    states.change(session, sequence, states.ACTIVATE, g.actor)
    return jsonify(present(sequence))


def pause_sequence(sequence_id: int) -> ResponseReturnValue:
    """Pause a sequence: nothing of it leaves until it is activated again."""
    session = get_session()
    sequence = build.get(session, sequence_id)
    states.change(session, sequence, states.PAUSE, g.actor)
    return jsonify(present(sequence))
