"""Every staff page in one table: its path, endpoint, methods and view, registered by `register` alone.

The views keep their permission (`@requires`) beside their code; what answers which URL is read here.
Paths are under /admin (the `admin` blueprint) except `/` (the `root` blueprint), and the endpoint is
`admin.<name>` (or `root.index`), as templates and `url_for` call them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask
from flask.typing import ResponseReturnValue

from sender.paths import resource_dir
from sender.web.admin import (
    ab_test_page,
    audit_trail,
    auth,
    breaches,
    campaign_page,
    campaigns,
    contacts,
    dashboard,
    imports,
    library,
    lists,
    organisation,
    proofs,
    purposes,
    records,
    requalification,
    rights_register,
    security,
    segment_pages,
    sender_auth,
    sequences,
    setup,
    signin,
    staff,
    webhooks,
)
from sender.web.bounds import KeyConverter, RecordIdConverter

GET, POST, FORM = ("GET",), ("POST",), ("GET", "POST")


@dataclass(frozen=True)
class Route:
    """One URL rule of a staff page."""

    path: str
    name: str
    view: Callable[..., ResponseReturnValue]
    methods: tuple[str, ...] = GET


# The site's root, outside /admin.
ROOT = Route("/", "index", dashboard.index)

ROUTES: tuple[Route, ...] = (
    # Reachable signed out (auth.PUBLIC_ENDPOINTS, with the blueprint's static files).
    Route("/signin", "signin", signin.signin_page, FORM),
    Route("/setup", "setup", setup.setup, FORM),
    # Signed in.
    Route("/signout", "signout", signin.signout, POST),
    Route("/", "dashboard", dashboard.dashboard),
    Route("/organisation", "organisation", organisation.organisation_page, FORM),
    Route("/organisation/dkim", "organisation_dkim", sender_auth.organisation_dkim, POST),
    # Contacts.
    Route("/contacts", "contacts", contacts.contact_search),
    Route("/contacts/new", "contact_new", contacts.contact_new, FORM),
    Route("/contacts/<key:public_id>", "contact", contacts.contact_page),
    Route("/contacts/<key:public_id>/consents", "contact_consent", contacts.record_consent, POST),
    Route("/contacts/<key:public_id>/tags", "contact_tags", contacts.contact_tags, POST),
    Route("/contacts/<key:public_id>/edit", "contact_edit", contacts.contact_edit, FORM),
    Route("/contacts/<key:public_id>/lists", "contact_lists", contacts.contact_lists, POST),
    Route("/contacts/<key:public_id>/restrict", "contact_restrict", contacts.contact_restrict, POST),
    Route("/contacts/<key:public_id>/erase", "contact_erase", contacts.contact_erase, FORM),
    # Lists and segments.
    Route("/lists", "lists", lists.lists_index),
    Route("/lists", "list_create", lists.list_create, POST),
    Route("/lists/add", "list_add_from", lists.list_add_from, POST),
    Route("/lists/<id:list_id>", "list_detail", lists.list_detail),
    Route("/lists/<id:list_id>/members", "list_members", lists.list_members, POST),
    Route("/segments/new", "segment_new", segment_pages.segment_page, FORM),
    Route("/segments/preview", "segment_preview", segment_pages.segment_preview, POST),
    Route("/segments/<id:segment_id>", "segment", segment_pages.segment_page, FORM),
    Route("/segments/<id:segment_id>/delete", "segment_delete", segment_pages.segment_delete, POST),
    # Purposes (the register) and their wordings.
    Route("/webhooks", "webhooks", webhooks.webhooks_index, FORM),
    Route("/webhooks/<id:endpoint_id>", "webhook", webhooks.webhook_page),
    Route("/webhooks/<id:endpoint_id>/change", "webhook_change", webhooks.webhook_change, POST),
    Route(
        "/webhooks/<id:endpoint_id>/deliveries/<id:delivery_id>/replay",
        "webhook_replay",
        webhooks.webhook_replay,
        POST,
    ),
    Route("/webhooks/<id:endpoint_id>/delete", "webhook_delete", webhooks.webhook_delete, POST),
    Route("/purposes", "purposes", purposes.purposes_index, FORM),
    Route("/purposes/<key:slug>", "purpose", purposes.purpose_page),
    Route("/purposes/<key:slug>/wordings", "wording_add", purposes.wording_add, POST),
    Route("/wordings/<id:wording_id>", "wording_change", purposes.wording_change, POST),
    Route("/purposes/<key:slug>/dpia", "purpose_dpia", records.purpose_dpia, FORM),
    # The register of processing and the processors inventory.
    Route("/register", "register", records.register_page),
    Route("/register/export.<fmt>", "register_export", records.register_export),
    Route("/processors", "processors", records.processors_page),
    Route("/processors/<key:key>", "processor_edit", records.processor_edit, FORM),
    # Campaigns.
    Route("/campaigns", "campaigns", campaigns.campaigns_index),
    Route("/campaigns/new", "campaign_new", campaigns.campaign_new, FORM),
    Route("/campaigns/preview", "campaign_live_preview", campaigns.campaign_live_preview, POST),
    Route("/campaigns/preview.html", "campaign_live_message", campaigns.campaign_live_message, POST),
    Route("/campaigns/sms-segments", "campaign_sms_segments", campaigns.campaign_sms_segments, POST),
    Route("/campaigns/<id:campaign_id>", "campaign", campaign_page.campaign_page),
    Route("/campaigns/<id:campaign_id>/edit", "campaign_edit", campaigns.campaign_edit, FORM),
    Route("/campaigns/<id:campaign_id>/sample", "campaign_sample", campaign_page.campaign_sample, POST),
    Route("/campaigns/<id:campaign_id>/message.html", "campaign_message", campaign_page.campaign_message),
    Route("/campaigns/<id:campaign_id>/audience", "campaign_audience", campaigns.campaign_audience),
    Route("/campaigns/<id:campaign_id>/progress", "campaign_progress", dashboard.campaign_progress),
    Route("/campaigns/<id:campaign_id>/test", "campaign_test", campaign_page.campaign_test, POST),
    Route("/campaigns/<id:campaign_id>/send", "campaign_send", campaigns.campaign_send, FORM),
    Route("/campaigns/<id:campaign_id>/schedule", "campaign_schedule", campaigns.campaign_schedule, POST),
    Route("/campaigns/<id:campaign_id>/ab-winner", "campaign_ab_winner", campaigns.campaign_ab_winner, POST),
    Route("/campaigns/<id:campaign_id>/ab-test", "campaign_ab_test", ab_test_page.campaign_ab_test, FORM),
    Route("/campaigns/<id:campaign_id>/pause", "campaign_pause", campaigns.campaign_pause, POST),
    Route("/campaigns/<id:campaign_id>/resume", "campaign_resume", campaigns.campaign_resume, POST),
    Route("/campaigns/<id:campaign_id>/cancel", "campaign_cancel", campaigns.campaign_cancel, POST),
    Route("/campaigns/<id:campaign_id>/delete", "campaign_delete", campaigns.campaign_delete, POST),
    Route("/campaigns/<id:campaign_id>/deliveries.csv", "campaign_export", campaigns.campaign_export),
    Route("/campaigns/<id:campaign_id>/duplicate", "campaign_duplicate", library.campaign_duplicate, POST),
    Route("/campaigns/<id:campaign_id>/checks", "campaign_checks", campaign_page.campaign_checks, POST),
    # The template library, the brand it shows, and images.
    Route("/templates", "templates", library.templates_index),
    Route("/templates/new", "template_new", library.template_new, FORM),
    Route("/templates/<id:template_id>", "template_edit", library.template_edit, FORM),
    Route("/templates/<id:template_id>/message.html", "template_message", library.template_message),
    Route("/templates/<id:template_id>/duplicate", "template_duplicate", library.template_duplicate, POST),
    Route("/brand", "brand_save", library.brand_save, POST),
    Route("/images", "image_upload", library.image_upload, POST),
    # Requalification cycles.
    Route("/requalification", "requalification", requalification.requalification_index),
    Route("/requalification/new", "requalification_new", requalification.requalification_new, FORM),
    Route("/requalification/<id:cycle_id>", "requalification_cycle", requalification.requalification_cycle),
    Route(
        "/requalification/<id:cycle_id>/approval",
        "requalification_approve",
        requalification.requalification_approve,
        POST,
    ),
    # Sequences.
    Route("/sequences", "sequences", sequences.sequences_index),
    Route("/sequences/new", "sequence_new", sequences.sequence_new, FORM),
    Route("/sequences/<id:sequence_id>", "sequence", sequences.sequence_page),
    Route("/sequences/<id:sequence_id>/steps/<id:step>", "sequence_step", sequences.sequence_step),
    Route("/sequences/<id:sequence_id>/activate", "sequence_activate", sequences.sequence_activate, POST),
    Route("/sequences/<id:sequence_id>/pause", "sequence_pause", sequences.sequence_pause, POST),
    # Users and API tokens.
    Route("/staff", "staff", staff.staff_page),
    Route("/staff/users", "staff_user_create", staff.user_create, POST),
    Route("/staff/users/<id:user_id>/active", "staff_user_active", staff.user_active, POST),
    Route("/staff/tokens", "staff_token_create", staff.token_create, POST),
    Route("/staff/tokens/<id:token_id>/revoke", "staff_token_revoke", staff.token_revoke, POST),
    # The audit trail.
    Route("/audit", "audit", audit_trail.audit_page),
    Route("/audit/export.<fmt>", "audit_export", audit_trail.audit_export),
    Route("/audit/verify", "audit_verify", audit_trail.audit_verify, POST),
    # The breach register (Art. 33-34) and the proofs of honouring and consent (R77, R2).
    Route("/breaches", "breaches", breaches.breaches_index),
    Route("/breaches", "breach_create", breaches.breach_create, POST),
    Route("/breaches/<id:incident_id>", "breach", breaches.breach_page),
    Route("/breaches/<id:incident_id>/edit", "breach_edit", breaches.breach_edit, POST),
    Route("/breaches/<id:incident_id>/notification", "breach_notify", breaches.breach_notify, POST),
    Route(
        "/breaches/<id:incident_id>/notification.<fmt>", "breach_notification", breaches.breach_notification
    ),
    Route("/breaches/<id:incident_id>/notices", "breach_notice_attach", breaches.breach_notice_attach, POST),
    Route(
        "/breaches/<id:incident_id>/notices/<id:campaign_id>/approval",
        "breach_notice_approve",
        breaches.breach_notice_approve,
        POST,
    ),
    Route("/honouring", "honouring", proofs.organisation_honouring),
    Route("/contacts/<key:public_id>/honouring.<fmt>", "contact_honouring", proofs.contact_honouring),
    Route(
        "/contacts/<key:public_id>/consent-proof.<fmt>", "contact_consent_proof", proofs.contact_consent_proof
    ),
    # The register of rights requests.
    Route("/rights-requests", "rights_requests", rights_register.register_page),
    Route("/rights-requests.csv", "rights_requests_export", rights_register.register_export),
    # CSV imports.
    Route("/imports", "imports", imports.index),
    Route("/imports", "import_create", imports.import_create, POST),
    Route("/imports/<id:batch_id>", "import_detail", imports.import_detail),
    Route("/imports/<id:batch_id>/commit", "import_commit", imports.import_commit, POST),
    Route("/imports/<id:batch_id>/progress", "import_progress", imports.import_progress),
    Route("/imports/<id:batch_id>/report.csv", "import_report_csv", imports.import_report_csv),
)


def _add(blueprint: Blueprint, route: Route) -> None:
    blueprint.add_url_rule(route.path, route.name, route.view, methods=list(route.methods))


def register(app: Flask) -> None:
    """Make the two staff blueprints for `app`, add every route of the table and the hooks, register them."""
    # Made per app: Flask refuses new rules on a blueprint already registered (tests build many apps).
    admin = Blueprint(
        "admin",
        __name__,
        url_prefix="/admin",
        static_folder=str(resource_dir("static")),
        static_url_path="/static",
    )
    root = Blueprint("root", __name__)
    # Path variables are bounded (an id beyond a column, NUL in a key: a 404); the API registers the same
    # converters first.
    app.url_map.converters.setdefault("id", RecordIdConverter)
    app.url_map.converters.setdefault("key", KeyConverter)
    for route in ROUTES:
        _add(admin, route)
    _add(root, ROOT)
    # Sign-in first: a signed-out POST is sent to the sign-in form before its CSRF token is looked at.
    admin.before_request(auth.require_sign_in)
    admin.before_request(security.check_csrf)
    admin.after_request(security.add_headers)
    root.after_request(security.add_headers)
    app.register_blueprint(root)
    app.register_blueprint(admin)
