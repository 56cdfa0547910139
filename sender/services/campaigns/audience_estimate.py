"""The audience preview of a staff page: counted exactly when the audience is small, else estimated from a
random sample of contacts, with its margin.

The gate over every member takes seconds at a million contacts (it reads consent, suppressions and channel
state per contact). A staff page shows an estimate instead, labelled as such: a cluster sample of the contact
ids in use (RUNS runs of RUN consecutive ids, each run starting at random), the gate run over those only,
each count scaled by (id span / ids sampled), and its 95 % margin from the spread between runs (so ids
that resemble their neighbours, as one import's rows do, widen the margin rather than bias it). Runs of
consecutive ids read a few pages each; as many ids drawn one by one read a page each and took a second on a
cold cache. The launch itself always counts exactly (planning.py), and so does the API's preview.
"""

from __future__ import annotations

import bisect
import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Campaign, Contact, ListMember
from sender.services.audience import segments
from sender.services.campaigns import planning

# Up to this many members (lists and segments together, before de-duplication): counted exactly.
EXACT_UP_TO = 20_000
RUNS = 60
RUN = 50
# 95 % of estimates fall within 1.96 standard errors.
Z95 = 1.96


@dataclass(frozen=True)
class Counted:
    """Audience counts by refusal reason (None = would be queued), and how they were obtained."""

    counts: dict[str | None, int]
    # 0: counted exactly; else the number of contact ids sampled, and each count's 95 % margin.
    sample: int = 0
    margins: dict[str | None, int] = field(default_factory=dict)


def _members_up_to(session: Session, campaign: Campaign, limit: int) -> int:
    """Members of the campaign's lists and segments, counted no further than `limit` (duplicates included)."""
    members = select(ListMember.contact_id).where(ListMember.list_id.in_([lst.id for lst in campaign.lists]))
    total = session.scalar(select(func.count()).select_from(members.limit(limit + 1).subquery())) or 0
    for segment_id in segments.of_campaign(session, campaign.id):
        if total > limit:
            break
        found = segments.members(session, [segment_id]).limit(limit + 1).subquery()
        total += session.scalar(select(func.count()).select_from(found)) or 0
    return total


def preview(
    session: Session,
    campaign: Campaign,
    at: datetime,
    rng: random.Random | None = None,
    *,
    exact_up_to: int = EXACT_UP_TO,
    runs: int = RUNS,
    run: int = RUN,
) -> Counted:
    """The campaign's audience by refusal reason: exact when small, else estimated from a sample."""
    list_ids = [lst.id for lst in campaign.lists]
    lowest, highest = session.execute(select(func.min(Contact.id), func.max(Contact.id))).one()
    span = (highest - lowest + 1) if lowest is not None else 0
    if span <= 2 * runs * run or _members_up_to(session, campaign, exact_up_to) <= exact_up_to:
        return Counted(planning.preview(session, campaign, list_ids, at))
    slots = (rng or random.SystemRandom()).sample(range(span // run), runs)
    starts = sorted(lowest + run * slot for slot in slots)
    per_run: dict[str | None, list[int]] = {}
    drawn = [(start, start + run - 1) for start in starts]
    for contact_id, reason in planning.reasons_among(session, campaign, list_ids, at, drawn):
        counts = per_run.setdefault(reason, [0] * runs)
        counts[bisect.bisect_right(starts, contact_id) - 1] += 1
    # Each run stands for (span / run) runs of the id range: the total is that times the runs' mean count.
    scale = span / run
    return Counted(
        {reason: round(scale * statistics.fmean(counts)) for reason, counts in per_run.items()},
        runs * run,
        {
            reason: round(Z95 * scale * statistics.stdev(counts) / math.sqrt(runs))
            for reason, counts in per_run.items()
        },
    )
