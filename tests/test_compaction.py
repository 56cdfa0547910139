"""Deliveries compacted by age through `sender retention run`: counts kept, proof of honouring kept."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from sender import work
from sender.cli.main import cli
from sender.db import utcnow
from sender.enums import AfterWithdrawal, DeliveryStatus
from sender.models import AbTest, AuditEvent, Campaign, CampaignVariant, Contact, Delivery, DeliveryCount
from sender.runtime import Runtime
from sender.services.campaigns import ab_tests, compaction, lifecycle
from sender.services.consent import ledger
from sender.services.records import honouring
from tests import factories
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

DAYS = 400


def _arrange(runtime: Runtime) -> dict[str, int]:
    """A campaign sent 450 days ago to 5 people (one skipped, one failed, one opted out before it) and a
    recent one; returns ids by name."""
    now = utcnow()
    long_ago = now - timedelta(days=450)
    with work.unit(runtime.Session, "setup") as session:
        factories.bind(session)
        purpose = PurposeFactory()
        WordingFactory(purpose=purpose)
        people = [ContactFactory() for _ in range(5)]
        for person in people:
            grant(session, person, purpose, at=now - timedelta(days=500))
        opted_out = people[4]
        ledger.record(
            session,
            opted_out,
            purpose,
            channel="email",
            action="withdraw",
            source="one_click",
            mechanism="one_click",
            actor="contact",
            at=now - timedelta(days=460),
        )
        old, recent = (
            Campaign(
                name=name, purpose_id=purpose.id, channel="email", kind="marketing", status="sent",
                subject="s", body_text="b", body_html="",
            )
            for name in ("old", "recent")
        )  # fmt: skip
        session.add_all([old, recent])
        session.flush()
        outcomes = [
            ("sent", None, "250 ok"),
            ("sent", None, "250 ok"),
            ("skipped", "withdrawn", None),
            ("failed", "invalid_address", "550 <x@example.org> unknown"),
            # A message that left after the person's opt-out: the proof of honouring must still show it.
            ("sent", None, "250 ok"),
        ]
        for person, (status, reason, answer) in zip(people, outcomes, strict=True):
            left = status == "sent"
            session.add(
                Delivery(
                    campaign_id=old.id, contact_id=person.id, status=status, reason=reason,
                    provider_id=answer, last_error=None if left else answer, created_at=long_ago,
                    claimed_at=long_ago, sent_at=long_ago if left else None,
                )
            )  # fmt: skip
        session.add(
            Delivery(
                campaign_id=recent.id, contact_id=people[0].id, status="sent", sent_at=now, created_at=now
            )
        )
        return {"old": old.id, "recent": recent.id, "opted_out": opted_out.id, "first": people[0].id}


def test_retention_run_compacts_old_deliveries_into_counts_and_keeps_the_proof_of_honouring(
    committed: Runtime, base_env: dict[str, str]
) -> None:
    ids = _arrange(committed)
    with committed.Session() as session:
        before = lifecycle.reports_for(session, [ids["old"], ids["recent"]])

    runner = CliRunner()
    # Provider answers age out later than the detail here, so compaction is what strips the kept row.
    env = {**base_env, "DELIVERY_DETAIL_DAYS": str(DAYS), "DELIVERY_LOG_DAYS": "1000"}
    result = runner.invoke(cli, ["retention", "run"], env=env)
    assert result.exit_code == 0, result.output
    assert "deliveries_compacted=4 deliveries_kept_stripped=1" in result.output

    with committed.Session() as session:
        # The campaign reports show the same totals, by status and by skip reason.
        assert lifecycle.reports_for(session, [ids["old"], ids["recent"]]) == before
        assert before[ids["old"]].by_status == {"failed": 1, "sent": 3, "skipped": 1}
        left = session.execute(select(Delivery.campaign_id, Delivery.contact_id, Delivery.provider_id)).all()
        # The opted-out person's old row stays, stripped of its provider fields.
        assert set(left) == {(ids["old"], ids["opted_out"], None), (ids["recent"], ids["first"], None)}
        counts = session.execute(
            select(DeliveryCount.status, DeliveryCount.reason, DeliveryCount.count).where(
                DeliveryCount.campaign_id == ids["old"]
            )
        ).all()
        assert sorted(counts) == [
            ("failed", "invalid_address", 1),
            ("sent", "", 2),
            ("skipped", "withdrawn", 1),
        ]
        details = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "retention.run")
        ).one()
        assert details["deliveries_compacted"] == 4 and details["deliveries_kept_stripped"] == 1

        # The old message sent after the opt-out is still in the proof of honouring.
        person = session.get(Contact, ids["opted_out"])
        assert person is not None
        (withdrawal,) = honouring.for_contact(session, person)
        assert [(m.campaign_id, m.verdict) for m in withdrawal.messages_after] == [
            (ids["old"], AfterWithdrawal.EXCEPTION)
        ]

    # A second run finds nothing more: the counts are not added twice.
    result = runner.invoke(cli, ["retention", "run"], env=env)
    assert result.exit_code == 0, result.output
    assert "deliveries_compacted=0 deliveries_kept_stripped=0" in result.output
    with committed.Session() as session:
        assert lifecycle.reports_for(session, [ids["old"], ids["recent"]]) == before


def test_compaction_in_small_batches_counts_each_row_once_and_leaves_unfinished_rows(
    committed: Runtime,
) -> None:
    ids = _arrange(committed)
    with work.unit(committed.Session, "an old delivery still queued") as session:
        factories.bind(session)
        extra = ContactFactory()
        session.flush()
        session.add(
            Delivery(
                campaign_id=ids["old"], contact_id=extra.id, status=DeliveryStatus.QUEUED,
                created_at=utcnow() - timedelta(days=450),
            )
        )  # fmt: skip
    with committed.Session() as session:
        before = lifecycle.report_for(session, ids["old"])
    commits = 0

    with work.unit(committed.Session, "compaction") as session:

        def commit() -> bool:
            nonlocal commits
            commits += 1
            work.commit(session, "batch")
            return True

        done = compaction.compact(session, DAYS, utcnow(), commit, batch=2)
    assert (done.compacted, commits) == (4, 2)
    with committed.Session() as session:
        assert lifecycle.report_for(session, ids["old"]) == before
        total = session.scalar(select(func.sum(DeliveryCount.count)))
        assert total == 4
        # A queued row is never compacted, however old.
        assert session.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.QUEUED)) == 1


def _sent_by_variant(runtime: Runtime, campaign_id: int) -> list[tuple[str, int]]:
    with runtime.Session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        found = ab_tests.report(session, campaign)
        assert found is not None
        return [(v.name, v.sent) for v in found.variants]


def test_an_ab_tests_report_counts_each_variants_messages_the_same_after_compaction(
    committed: Runtime,
) -> None:
    long_ago = utcnow() - timedelta(days=450)
    with work.unit(committed.Session, "a test decided long ago") as session:
        factories.bind(session)
        purpose = PurposeFactory()
        WordingFactory(purpose=purpose)
        people = [ContactFactory() for _ in range(6)]
        campaign = Campaign(
            name="tested", purpose_id=purpose.id, channel="email", kind="marketing", status="sent",
            subject="A", body_text="a", body_html="", launched_at=long_ago,
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        session.add(AbTest(campaign_id=campaign.id, test_percent=20, wait_minutes=60, winner=1))
        session.add(
            CampaignVariant(
                campaign_id=campaign.id, position=1, subject="B", body_source="b", body_html="", body_text="b"
            )
        )
        # A: two sent; B: three sent (one after the decision) and one failed.
        for person, (variant, status) in zip(
            people,
            [(0, "sent"), (0, "sent"), (1, "sent"), (1, "sent"), (1, "sent"), (1, "failed")],
            strict=True,
        ):
            session.add(
                Delivery(
                    campaign_id=campaign.id, contact_id=person.id, status=status, variant=variant,
                    reason="invalid_address" if status == "failed" else None, created_at=long_ago,
                    sent_at=long_ago if status == "sent" else None,
                )
            )  # fmt: skip
        campaign_id = campaign.id
    before = _sent_by_variant(committed, campaign_id)
    with committed.Session() as session:
        report = lifecycle.report_for(session, campaign_id)

    with work.unit(committed.Session, "compaction") as session:
        done = compaction.compact(session, DAYS, utcnow(), lambda: True)

    assert done.compacted == 6
    assert before == [("A", 2), ("B", 3)]
    assert _sent_by_variant(committed, campaign_id) == before
    with committed.Session() as session:
        assert lifecycle.report_for(session, campaign_id) == report
        assert session.scalar(select(func.count()).where(Delivery.campaign_id == campaign_id)) == 0
        counts = session.execute(
            select(DeliveryCount.variant, DeliveryCount.status, DeliveryCount.count).where(
                DeliveryCount.campaign_id == campaign_id
            )
        ).all()
        assert sorted(counts) == [(0, "sent", 2), (1, "failed", 1), (1, "sent", 3)]
