"""`sender deliverability check DOMAIN` (SPF, DKIM, DMARC, alignment) and `sender deliverability breaker`."""

from __future__ import annotations

import click

from sender.cli import units
from sender.config import load_settings
from sender.services.accounts import organisation
from sender.services.deliverability import breaker, dns_check


@click.group("deliverability")
def deliverability_group() -> None:
    """Sender authentication and the circuit breaker."""


@deliverability_group.command("check")
@click.argument("domain")
@click.option("--selector", default=None, help="DKIM selector (default: the configured one).")
def check(domain: str, selector: str | None) -> None:
    """Check DOMAIN's SPF, DKIM and DMARC records and their alignment; exit code 1 if any item fails."""
    with units.session() as session:
        settings = organisation.effective_settings(session, load_settings())
    try:
        report = dns_check.check(settings, domain, selector)
    except dns_check.DnsUnavailable as exc:
        click.echo(f"DNS did not answer ({exc}); nothing was checked", err=True)
        raise click.exceptions.Exit(1) from None
    for item in report.items:
        click.echo(f"{'PASS' if item.passed else 'FAIL'}  {item.name}: {item.detail}")
        if item.found:
            click.echo(f"      found:   {item.found}")
        if item.publish:
            click.echo(f"      publish: {item.publish}")
    if not report.passed:
        raise click.exceptions.Exit(1)


@deliverability_group.command("breaker")
def run_breaker() -> None:
    """Pause every sending campaign whose complaint or hard-bounce rate has reached its threshold."""
    with units.session() as session:
        paused = breaker.sweep(session, organisation.effective_settings(session, load_settings()))
    for trip in paused:
        click.echo(f"campaign {trip.campaign_id} paused: {trip.reason} {trip.rate:.2f} % ({trip.scope})")
    click.echo(f"{len(paused)} campaigns paused")
