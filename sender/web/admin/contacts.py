"""Contacts: search, the contact page with its consent proof, and the actions on a contact."""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.models import Contact
from sender.models.contacts import CHANNELS, CONTACT_STATUSES
from sender.services.audience import contacts as contact_service
from sender.services.audience import lists as list_service
from sender.services.audience import profile, search
from sender.services.consent import ledger, purposes, sms_replies
from sender.services.errors import NotFound
from sender.services.records import audit
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


class EditForm(Form):
    """A contact's fields; addresses only where none is known yet."""

    email = EmailField(_l("Email"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional()])
    first_name = StringField(_l("First name"), validators=[Optional()])
    last_name = StringField(_l("Last name"), validators=[Optional()])
    locale = StringField(_l("Language (e.g. fr)"), validators=[Optional()])
    country = StringField(_l("Country"), validators=[Optional()])
    timezone = StringField(_l("Time zone (e.g. Europe/Paris)"), validators=[Optional()])
    attributes = TextAreaField(_l("Attributes"), validators=[Optional()])


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


class SearchForm(Form):
    """The search box and its page cursor, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional()])
    before = IntegerField(validators=[Optional()])


class TagsForm(Form):
    """A contact's tags, comma-separated."""

    tags = StringField(_l("Tags"), validators=[Optional()])


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
    form = SearchForm(request.args)
    kind = request.args.get("kind", "auto")
    status = request.args.get("status") or None
    if kind not in search.KINDS or (status and status not in CONTACT_STATUSES):
        abort(400)
    valid = form.validate()
    # A refused query is not shown back: it may hold what a page cannot carry.
    query = (form.q.data or "").strip() if valid else ""
    results = None
    if valid:
        results = search.search(
            get_session(),
            runtime().settings,
            query,
            kind=kind,
            status=status,
            before_id=form.before.data,
            limit=PAGE_SIZE,
        )
    return render_template(
        "admin/contacts/search.html",
        results=results,
        q=query,
        kind=kind,
        status=status,
        kinds=search.KINDS,
        statuses=CONTACT_STATUSES,
        lists=list_service.all_lists(get_session()) if query else [],
        errors={name: errors for name, errors in form.errors.items() if errors},
    ), 200 if valid else 400


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
        lists=list_service.all_lists(db),
        tags=search.tags_of(db, contact.id),
        channels=CHANNELS,
        consent_form=consent_form,
        replies=sms_replies.replies(db, contact_id=contact.id),
    ), status


@requires("view")
def contact_page(public_id: str) -> ResponseReturnValue:
    """Consent per purpose and channel, the full proof history, the SMS keyword replies and the deliveries."""
    contact = _contact(public_id)
    # Staff reading a person's record is itself an access to personal data: it goes on the trail.
    audit.record(get_session(), actor(), "contact.view", "contact", contact.public_id)
    return _render_contact(contact, _consent_form())


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
    form = TagsForm()
    if not form.validate():
        for error in form.tags.errors:
            flash(_("Tags: %(error)s", error=error), "error")
        return _render_contact(contact, _consent_form(), 422)
    return run_action(
        lambda: search.set_tags(get_session(), contact, (form.tags.data or "").split(",")),
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


def _edit_data(form: EditForm, contact: Contact) -> dict[str, object]:
    """The fields the form changes; an empty box clears its field, addresses are only ever added."""
    data: dict[str, object] = {}
    for name in ("first_name", "last_name", "locale", "country", "timezone"):
        value = (getattr(form, name).data or "").strip() or None
        if value != getattr(contact, name):
            data[name] = value
    for name in ("email", "phone"):
        value = (getattr(form, name).data or "").strip()
        if value and getattr(contact, name) is None:
            data[name] = value
    attributes = profile.parse_attributes(form.attributes.data or "")
    if attributes != (contact.attributes or {}):
        data["attributes"] = attributes
    return data


@requires("contacts.edit")
def contact_edit(public_id: str) -> ResponseReturnValue:
    """Edit a contact's name, language, country, time zone and attributes, or add a missing address."""
    contact = _contact(public_id)
    initial = None
    if request.method == "GET":
        initial = {
            name: getattr(contact, name)
            for name in ("first_name", "last_name", "locale", "country", "timezone")
        }
        initial["attributes"] = profile.format_attributes(contact.attributes or {})
    form = EditForm(data=initial)

    def page(status: int) -> ResponseReturnValue:
        return render_template("admin/contacts/edit.html", form=form, contact=contact), status

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    return run_action(
        lambda: contact_service.update(
            get_session(), runtime().settings, contact, _edit_data(form, contact), actor()
        ),
        success=_("Contact saved."),
        redirect_to=url_for("admin.contact", public_id=public_id),
        refused=page,
        form=form,
    )


@requires("lists.edit")
def contact_lists(public_id: str) -> ResponseReturnValue:
    """Add this contact (with an email, a phone or both) to a list."""
    contact = _contact(public_id)
    list_id = request.form.get("list_id", type=int)
    if list_id is None:
        abort(400)
    return run_action(
        lambda: list_service.add_members(get_session(), list_id, [contact.public_id], actor()),
        success=_("Added to the list."),
        redirect_to=url_for("admin.contact", public_id=public_id),
        fields={NotFound: "list_id"},
    )
