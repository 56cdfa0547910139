"""The Organisation page's sender authentication: the DKIM key (set once, never shown again) and the DNS panel."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField

from sender.models import OrganisationSettings
from sender.services.accounts import organisation
from sender.services.deliverability import dkim_key, dns_check
from sender.services.errors import ValidationFailed
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, run_action
from sender.web.labels import say
from sender.web.session import get_session, runtime


class DkimForm(Form):
    """Selector, signing domain and the private key (pasted, or generated here)."""

    selector = StringField(_l("DKIM selector"))
    domain = StringField(_l("Signing domain (d=)"))
    private_key = TextAreaField(_l("Private key (PEM); leave empty to keep the key already set"))
    generate = BooleanField(_l("Generate a new 2048-bit key instead"))


def page_context(check: bool) -> dict[str, Any]:
    """What organisation.html shows of DKIM, and the DNS panel when asked for (it queries DNS)."""
    db = get_session()
    settings = organisation.effective_settings(db, runtime().settings)
    # Read only: a GET creates no settings row.
    row = db.get(OrganisationSettings, organisation.ROW_ID) or OrganisationSettings(
        dkim_selector="", dkim_domain=""
    )
    report, dns_error = None, None
    if check:
        try:
            found = dns_check.check(settings)
            # Each item's reason in the page's language.
            report = replace(found, items=tuple(replace(i, detail=say(i.detail)) for i in found.items))
        except dns_check.DnsUnavailable:
            dns_error = _("DNS did not answer; nothing was checked.")
    return {
        "dkim_form": DkimForm(data={"selector": row.dkim_selector, "domain": row.dkim_domain}),
        "dkim": settings.guard,
        "dkim_env": settings.guard.dkim_selector != row.dkim_selector
        or settings.guard.dkim_domain != row.dkim_domain,
        "dkim_record": dkim_key.current_record(settings),
        "dns_report": report,
        "dns_error": dns_error,
    }


@requires("organisation.edit")
def organisation_dkim() -> ResponseReturnValue:
    """Store the DKIM selector and domain, and a new key when one is given or asked for."""
    form = DkimForm()
    db = get_session()
    back = url_for("admin.organisation")
    if not form.validate():
        errors = {name: " ".join(map(str, found)) for name, found in form.errors.items()}

        def refuse() -> None:
            raise ValidationFailed(errors)

        return run_action(refuse, success=None, redirect_to=back)
    values = {
        "selector": form.selector.data or "",
        "domain": form.domain.data or "",
        "private_key": form.private_key.data or "",
        "generate": "1" if form.generate.data else "",
    }
    return run_action(
        lambda: dkim_key.save(db, runtime().settings, organisation.stored(db), values, actor()),
        success=_(
            "DKIM settings saved: messages are signed from now on. Publish the record below; until it is"
            " published, receivers cannot verify the signature."
        ),
        redirect_to=back,
    )
