"""Sequences: a trigger and ordered steps, each step an internal campaign; enrolments of people in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sender.db import Base, utcnow
from sender.enums import DelayUnit, EnrolmentStatus, SequenceStatus, SequenceTrigger, one_of
from sender.models.campaigns import Campaign


class Sequence(Base):
    """A series of messages under one purpose, sent to each person its trigger enrols, step by step."""

    __tablename__ = "sequences"
    __table_args__ = (
        CheckConstraint(one_of("status", SequenceStatus), name="status"),
        CheckConstraint(one_of("trigger", SequenceTrigger), name="trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    # What the trigger watches: the list (list), the segment (segment) or the contact attribute (date).
    trigger_list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    trigger_segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    trigger_field: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SequenceStatus.DRAFT, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)

    steps: Mapped[list[SequenceStep]] = relationship(
        order_by="SequenceStep.position", cascade="all, delete-orphan", back_populates="sequence"
    )


class SequenceStep(Base):
    """One message of a sequence: its wait after the previous step and the campaign that carries it."""

    __tablename__ = "sequence_steps"
    __table_args__ = (
        UniqueConstraint("sequence_id", "position"),
        CheckConstraint(one_of("delay_unit", DelayUnit), name="delay_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    delay_value: Mapped[int] = mapped_column(Integer, default=0)
    delay_unit: Mapped[str] = mapped_column(String(8), default=DelayUnit.DAYS)
    # "HH:MM" in the organisation's time zone: the step waits its delay, then for the next such time.
    at_time: Mapped[str | None] = mapped_column(String(5))
    # The internal campaign (kind "sequence") holding the message; its deliveries are this step's sends.
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), unique=True)

    sequence: Mapped[Sequence] = relationship(back_populates="steps")
    campaign: Mapped[Campaign] = relationship()


class Enrolment(Base):
    """One passage of a person through a sequence: the next step and when it is due, or how it ended."""

    __tablename__ = "enrolments"
    __table_args__ = (CheckConstraint(one_of("status", EnrolmentStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=EnrolmentStatus.ACTIVE)
    # The position of the next step to send (= the number of steps already planned).
    step: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    trigger: Mapped[str] = mapped_column(String(16))
    # What enrolled the person, for the date trigger the date itself (one passage per date).
    trigger_key: Mapped[str] = mapped_column(String(64), default="")
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(32))


# At most one active passage per person and sequence: triggers firing together enrol once.
Index(
    "uq_enrolments_active",
    Enrolment.sequence_id,
    Enrolment.contact_id,
    unique=True,
    postgresql_where=Enrolment.status == EnrolmentStatus.ACTIVE,
    sqlite_where=Enrolment.status == EnrolmentStatus.ACTIVE,
)
# The sweep's question: which active passages are due.
Index("ix_enrolments_status_due", Enrolment.status, Enrolment.next_due_at)
