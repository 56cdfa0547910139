"""The charts of a campaign's report and of the dashboard, from the figures the services count."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import format_date, format_datetime, gettext
from sqlalchemy.orm import Session

from sender.models import Campaign
from sender.services.campaigns.lifecycle import Report
from sender.services.engagement import figures
from sender.services.records import trends
from sender.web import labels
from sender.web.charts import Chart, Series, bar, line


def _day(day: date) -> str:
    return format_date(day, "d MMM")


def _moment(at: datetime, unit: str) -> str:
    return format_datetime(at, "d MMM HH:mm") if unit == "hour" else format_date(at.date(), "d MMM")


def campaign(session: Session, campaign_: Campaign, report: Report) -> list[Chart]:
    """A launched campaign's charts: messages sent over time, outcomes, reactions, and its clicks."""
    unit, points = trends.sent_over_time(session, campaign_.id)
    found = [
        line(
            gettext("Messages sent per hour") if unit == "hour" else gettext("Messages sent per day"),
            gettext("Hour (UTC)") if unit == "hour" else gettext("Day (UTC)"),
            [_moment(at, unit) for at, _ in points],
            [Series(gettext("Sent"), tuple(n for _, n in points))],
        ),
        bar(
            gettext("Deliveries by outcome"),
            gettext("Outcome"),
            [labels.label(status, "DeliveryStatus") for status in report.by_status],
            [Series(gettext("Deliveries"), tuple(report.by_status.values()))],
        ),
    ]
    reacted = trends.reactions(session, campaign_.id)
    found.append(
        bar(
            gettext("Bounces, complaints and unsubscribes"),
            gettext("Reaction"),
            [
                gettext("Hard bounces"),
                gettext("Soft bounces"),
                gettext("Complaints"),
                gettext("Unsubscribes"),
            ],
            [
                Series(
                    gettext("Messages"),
                    (reacted.hard_bounces, reacted.soft_bounces, reacted.complaints, reacted.unsubscribes),
                )
            ],
        )
    )
    links = figures.clicks_per_link(session, campaign_.id)
    if links:
        found.append(
            bar(
                gettext("Clicks per link"),
                gettext("Link"),
                [link.url for link in links],
                [
                    Series(gettext("Clicks"), tuple(link.clicks for link in links)),
                    Series(gettext("Unique clicks"), tuple(link.unique for link in links)),
                ],
            )
        )
        over_time = figures.unique_clicks_over_time(session, campaign_.id)
        found.append(
            line(
                gettext("Unique clicks per day"),
                gettext("Day (UTC)"),
                [_moment(at, "day") for at, _ in over_time],
                [Series(gettext("Unique clicks"), tuple(n for _, n in over_time))],
            )
        )
    return found


def dashboard(session: Session, now: datetime) -> list[Chart]:
    """The dashboard's charts: consent movements by purpose, audience growth, messages sent, unsubscribes."""
    mondays, weekly = trends.consents_per_week(session, now)
    weeks = [_day(m) for m in mondays]
    movements = [
        Series(gettext("%(purpose)s: granted", purpose=w.purpose), tuple(w.granted)) for w in weekly
    ] + [Series(gettext("%(purpose)s: withdrawn", purpose=w.purpose), tuple(w.withdrawn)) for w in weekly]
    _, growth = trends.audience_growth(session, now)
    days, sent = trends.sent_per_day(session, now)
    rates = trends.unsubscribe_rates(session)
    return [
        line(gettext("Consents granted and withdrawn per week"), gettext("Week of"), weeks, movements),
        line(
            gettext("Audience growth"),
            gettext("Week of"),
            weeks,
            [
                Series(gettext("Contacts added"), growth.added),
                Series(gettext("Contacts on file"), growth.on_file),
            ],
        ),
        bar(
            gettext("Messages sent per day"),
            gettext("Day (UTC)"),
            [_day(d) for d in days],
            [Series(gettext("Sent"), tuple(sent))],
        ),
        bar(
            gettext("Unsubscribe rate per campaign (%)"),
            gettext("Campaign"),
            [r.name for r in rates],
            [Series(gettext("Unsubscribes per 100 messages"), tuple(round(r.percent, 2) for r in rates))],
            whole=False,
        ),
    ]
