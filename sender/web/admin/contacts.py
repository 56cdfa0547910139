"""Contacts: search, the contact page with its consent proof, and the actions on a contact."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from sender.models import Contact
from sender.models.contacts import CHANNELS, CONTACT_STATUSES
from sender.services.audience import contacts as contact_service
from sender.services.audience import profile, search
from sender.services.consent import ledger, purposes, sms_replies
from sender.services.errors import NotFound
from sender.services.rights import erasure, restriction
from sender.web import labels
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, choices, run_action
from sender.web.session import get_session, runtime

PAGE_SIZE = 50


class ContactForm(Form):
    """A contact typed by hand (imports handle files)."""

    email = EmailField(_l("Email"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional()])
    first_name = StringField(_l("First name"), validators=[Optional()])
    last_name = StringField(_l("Last name"), validators=[Optional()])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional()])


class ConsentForm(Form):
    """A consent event with its proof: mechanism and (for a grant) the wording version shown."""

    purpose = SelectField(_l("Purpose"), validators=[DataRequired()])
    channel = SelectField(_l("Channel"), choices=choices(labels.choices_of("Channel", CHANNELS)))
    action = SelectField(_l("Action"), choices=choices(labels.choices_of("ConsentAction", ledger.ACTIONS)))
    mechanism = SelectField(
        _l("How the person expressed it"),
        choices=choices(labels.choices_of("Mechanism")),
    )
    wording_version = IntegerField(
        _l("Wording version shown (required for a grant)"), validators=[Optional()]
    )
    collection_point = StringField(_l("Where it was collected (form, event…)"), validators=[Optional()])
    note = StringField(_l("Note (proof reference)"), validators=[Optional()])


class EraseForm(Form):
    """Erasure needs an explicit confirmation."""

    confirm = BooleanField(_l("I confirm: erase this person's data for good"), validators=[DataRequired()])


def _contact(public_id: str) -> Contact:
    return contact_service.get_by_public_id(get_session(), public_id)


def _consent_form() -> ConsentForm:
    form = ConsentForm()
    form.purpose.choices = choices((p.slug, p.name) for p in purposes.all_purposes(get_session()))
    return form


@requires("view")
def contact_search() -> ResponseReturnValue:
    """Search by email, phone, name or #tag; keyset pages, newest first."""
    query = request.args.get("q", "").strip()
    kind = request.args.get("kind", "auto")
    status = request.args.get("status") or None
    before = request.args.get("before", type=int)
    if kind not in search.KINDS or (status and status not in CONTACT_STATUSES):
        abort(400)
    results = search.search(
        get_session(), runtime().settings, query, kind=kind, status=status, before_id=before, limit=PAGE_SIZE
    )
    return render_template(
        "admin/contacts/search.html",
        results=results,
        q=query,
        kind=kind,
        status=status,
        kinds=search.KINDS,
        statuses=CONTACT_STATUSES,
    )


@requires("contacts.edit")
def contact_new() -> ResponseReturnValue:
    """Create one contact."""
    form = ContactForm()

    def page(status: int) -> ResponseReturnValue:
        return render_template("admin/contacts/new.html", form=form), status

    if form.validate_on_submit():
        db = get_session()
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "tags") and v}

        def create() -> Contact:
            contact = contact_service.create(db, runtime().settings, {**data, "source": "admin"}, actor())
            search.set_tags(db, contact, (form.tags.data or "").split(","))
            return contact

        return run_action(
            create,
            success=_("Contact created."),
            redirect_to=lambda contact: url_for("admin.contact", public_id=contact.public_id),
            refused=page,
            form=form,
        )
    return page(400 if request.method == "POST" else 200)


def _render_contact(contact: Contact, consent_form: ConsentForm, status: int = 200) -> ResponseReturnValue:
    db = get_session()
    return render_template(
        "admin/contacts/detail.html",
        p=profile.build(db, contact),
        tags=search.tags_of(db, contact.id),
        channels=CHANNELS,
        consent_form=consent_form,
        replies=sms_replies.replies(db, contact_id=contact.id),
    ), status


@requires("view")
def contact_page(public_id: str) -> ResponseReturnValue:
    """Consent per purpose and channel, the full proof history, the SMS keyword replies and the deliveries."""
    return _render_contact(_contact(public_id), _consent_form())


@requires("contacts.edit")
def record_consent(public_id: str) -> ResponseReturnValue:
    """Record a consent event on the person's behalf, with its proof."""
    contact = _contact(public_id)
    form = _consent_form()
    if not form.validate():
        return _render_contact(contact, form, 400)
    db = get_session()

    def record() -> None:
        ledger.record(
            db,
            contact,
            purposes.get(db, form.purpose.data or ""),
            channel=form.channel.data or "",
            action=form.action.data or "",
            source="admin",
            mechanism=form.mechanism.data or "",
            actor=actor(),
            wording_version=form.wording_version.data,
            collection_point=form.collection_point.data or None,
            evidence={"note": form.note.data} if form.note.data else None,
        )

    return run_action(
        record,
        success=_("Consent event recorded."),
        redirect_to=url_for("admin.contact", public_id=public_id, _anchor="history"),
        refused=lambda status: _render_contact(_contact(public_id), form, status),
        form=form,
        # A purpose removed since the form was shown is the form's error, not a missing page.
        fields={NotFound: "purpose"},
        status=422,
    )


@requires("contacts.edit")
def contact_tags(public_id: str) -> ResponseReturnValue:
    """Replace the contact's tags."""
    contact = _contact(public_id)
    return run_action(
        lambda: search.set_tags(get_session(), contact, request.form.get("tags", "").split(",")),
        success=_("Tags saved."),
        redirect_to=url_for("admin.contact", public_id=public_id),
    )


@requires("contacts.restrict")
def contact_restrict(public_id: str) -> ResponseReturnValue:
    """Restrict processing (Art. 18), or lift the restriction."""
    contact = _contact(public_id)
    db, lift = get_session(), bool(request.form.get("lift"))

    def change() -> None:
        if lift:
            restriction.lift(db, runtime().settings, contact, actor())
        else:
            restriction.restrict(db, contact, actor())

    return run_action(
        change,
        success=_("Restriction lifted.") if lift else _("Processing restricted."),
        redirect_to=url_for("admin.contact", public_id=public_id),
    )


@requires("contacts.erase")
def contact_erase(public_id: str) -> ResponseReturnValue:
    """Confirm, then erase: personal data nulled, keyed hashes kept on the suppression list."""
    contact = _contact(public_id)
    form = EraseForm()
    if form.validate_on_submit():
        return run_action(
            lambda: erasure.erase(
                get_session(), runtime().settings, contact, actor=actor(), redis=runtime().redis
            ),
            success=_("The contact is erased; only a keyed hash of the address remains."),
            redirect_to=url_for("admin.contact", public_id=public_id),
        )
    status = 400 if request.method == "POST" else 200
    return render_template("admin/contacts/erase.html", contact=contact, form=form), status
