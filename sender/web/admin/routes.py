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
    audit_trail,
    auth,
    campaign_page,
    campaigns,
    contacts,
    dashboard,
    imports,
    lists,
    organisation,
    purposes,
    records,
    requalification,
    security,
    setup,
    signin,
    staff,
)

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
    # Contacts.
    Route("/contacts", "contacts", contacts.contact_search),
    Route("/contacts/new", "contact_new", contacts.contact_new, FORM),
    Route("/contacts/<public_id>", "contact", contacts.contact_page),
    Route("/contacts/<public_id>/consents", "contact_consent", contacts.record_consent, POST),
    Route("/contacts/<public_id>/tags", "contact_tags", contacts.contact_tags, POST),
    Route("/contacts/<public_id>/restrict", "contact_restrict", contacts.contact_restrict, POST),
    Route("/contacts/<public_id>/erase", "contact_erase", contacts.contact_erase, FORM),
    # Lists and segments.
    Route("/lists", "lists", lists.lists_index),
    Route("/lists", "list_create", lists.list_create, POST),
    Route("/lists/<int:list_id>", "list_detail", lists.list_detail),
    Route("/lists/<int:list_id>/members", "list_members", lists.list_members, POST),
    Route("/segments/new", "segment_new", lists.segment_page, FORM),
    Route("/segments/<int:segment_id>", "segment", lists.segment_page, FORM),
    Route("/segments/<int:segment_id>/delete", "segment_delete", lists.segment_delete, POST),
    # Purposes (the register) and their wordings.
    Route("/purposes", "purposes", purposes.purposes_index, FORM),
    Route("/purposes/<slug>", "purpose", purposes.purpose_page),
    Route("/purposes/<slug>/wordings", "wording_add", purposes.wording_add, POST),
    Route("/wordings/<int:wording_id>", "wording_change", purposes.wording_change, POST),
    Route("/purposes/<slug>/dpia", "purpose_dpia", records.purpose_dpia, FORM),
    # The register of processing and the processors inventory.
    Route("/register", "register", records.register_page),
    Route("/register/export.<fmt>", "register_export", records.register_export),
    Route("/processors", "processors", records.processors_page),
    Route("/processors/<key>", "processor_edit", records.processor_edit, FORM),
    # Campaigns.
    Route("/campaigns", "campaigns", campaigns.campaigns_index),
    Route("/campaigns/new", "campaign_new", campaigns.campaign_new, FORM),
    Route("/campaigns/preview", "campaign_live_preview", campaigns.campaign_live_preview, POST),
    Route("/campaigns/preview.html", "campaign_live_message", campaigns.campaign_live_message, POST),
    Route("/campaigns/sms-segments", "campaign_sms_segments", campaigns.campaign_sms_segments, POST),
    Route("/campaigns/<int:campaign_id>", "campaign", campaign_page.campaign_page),
    Route("/campaigns/<int:campaign_id>/edit", "campaign_edit", campaigns.campaign_edit, FORM),
    Route("/campaigns/<int:campaign_id>/sample", "campaign_sample", campaign_page.campaign_sample, POST),
    Route("/campaigns/<int:campaign_id>/message.html", "campaign_message", campaign_page.campaign_message),
    Route("/campaigns/<int:campaign_id>/audience", "campaign_audience", campaigns.campaign_audience),
    Route("/campaigns/<int:campaign_id>/progress", "campaign_progress", dashboard.campaign_progress),
    Route("/campaigns/<int:campaign_id>/test", "campaign_test", campaign_page.campaign_test, POST),
    Route("/campaigns/<int:campaign_id>/send", "campaign_send", campaigns.campaign_send, FORM),
    Route("/campaigns/<int:campaign_id>/schedule", "campaign_schedule", campaigns.campaign_schedule, POST),
    Route("/campaigns/<int:campaign_id>/pause", "campaign_pause", campaigns.campaign_pause, POST),
    Route("/campaigns/<int:campaign_id>/resume", "campaign_resume", campaigns.campaign_resume, POST),
    Route("/campaigns/<int:campaign_id>/cancel", "campaign_cancel", campaigns.campaign_cancel, POST),
    Route("/campaigns/<int:campaign_id>/delete", "campaign_delete", campaigns.campaign_delete, POST),
    Route("/campaigns/<int:campaign_id>/deliveries.csv", "campaign_export", campaigns.campaign_export),
    # Requalification cycles.
    Route("/requalification", "requalification", requalification.requalification_index),
    Route("/requalification/new", "requalification_new", requalification.requalification_new, FORM),
    Route("/requalification/<int:cycle_id>", "requalification_cycle", requalification.requalification_cycle),
    Route(
        "/requalification/<int:cycle_id>/approval",
        "requalification_approve",
        requalification.requalification_approve,
        POST,
    ),
    # Users and API tokens.
    Route("/staff", "staff", staff.staff_page),
    Route("/staff/users", "staff_user_create", staff.user_create, POST),
    Route("/staff/users/<int:user_id>/active", "staff_user_active", staff.user_active, POST),
    Route("/staff/tokens", "staff_token_create", staff.token_create, POST),
    Route("/staff/tokens/<int:token_id>/revoke", "staff_token_revoke", staff.token_revoke, POST),
    # The audit trail.
    Route("/audit", "audit", audit_trail.audit_page),
    Route("/audit/export.<fmt>", "audit_export", audit_trail.audit_export),
    Route("/audit/verify", "audit_verify", audit_trail.audit_verify, POST),
    # CSV imports.
    Route("/imports", "imports", imports.index),
    Route("/imports", "import_create", imports.import_create, POST),
    Route("/imports/<int:batch_id>", "import_detail", imports.import_detail),
    Route("/imports/<int:batch_id>/commit", "import_commit", imports.import_commit, POST),
    Route("/imports/<int:batch_id>/progress", "import_progress", imports.import_progress),
    Route("/imports/<int:batch_id>/report.csv", "import_report_csv", imports.import_report_csv),
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
