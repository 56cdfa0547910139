"""The template library: built-in and staff layouts, editable until a launched campaign uses them.

A template used by a launched campaign is evidence of what was sent, like a consent wording in use
(consent/wordings.py): the edit is one conditional UPDATE that changes nothing once the template is
frozen or used, and the caller gets a Conflict telling them to duplicate it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from sender.db import rowcount, utcnow
from sender.enums import CampaignStatus
from sender.i18n import N_
from sender.models import Campaign, Template
from sender.paths import resource_dir
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.messages import layouts
from sender.services.records import audit

FROZEN = N_("this template is used by a sent campaign and is frozen; duplicate it to change it")
BUILT_IN = N_("a built-in template cannot be changed; duplicate it to change it")
# The templates every installation ships (templates/email/layouts/<key>.html and .txt).
BUILT_INS = {
    "newsletter": N_("Newsletter"),
    "announcement": N_("Announcement"),
    "letter": N_("Plain letter"),
}
# Statuses in which a campaign has not left yet: its template may still change.
_NOT_SENT = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
COPY_PREFIX = "Copy of "


def _unused() -> ColumnElement[bool]:
    return ~exists().where(Campaign.template_id == Template.id, Campaign.status.not_in(_NOT_SENT))


def ensure_built_ins(session: Session) -> None:
    """Add the built-in templates an installation lacks (first use, or a release that ships a new one)."""
    present = set(session.scalars(select(Template.key).where(Template.key.is_not(None))))
    folder = resource_dir("templates") / "email" / "layouts"
    for key, name in BUILT_INS.items():
        if key in present:
            continue
        session.add(
            Template(
                key=key,
                name=name,
                layout_html=(folder / f"{key}.html").read_text(encoding="utf-8"),
                layout_text=(folder / f"{key}.txt").read_text(encoding="utf-8"),
                built_in=True,
                created_by="system",
            )
        )
    session.flush()


def listing(session: Session) -> list[Template]:
    """Every template, built-in ones first."""
    ensure_built_ins(session)
    return list(session.scalars(select(Template).order_by(Template.built_in.desc(), Template.name)))


def get(session: Session, template_id: int) -> Template:
    """The template with this id, or NotFound."""
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound(N_("no such template"))
    return template


def known(session: Session, template_id: int) -> bool:
    """Whether a template has this id (the built-in ones are added first if the installation lacks them)."""
    ensure_built_ins(session)
    return session.get(Template, template_id) is not None


def is_frozen(session: Session, template: Template) -> bool:
    """Whether edits are refused: built in, frozen, or used by a campaign that left."""
    if template.built_in or template.frozen_at is not None:
        return True
    return bool(
        session.scalar(
            select(Campaign.id)
            .where(Campaign.template_id == template.id, Campaign.status.not_in(_NOT_SENT))
            .limit(1)
        )
    )


def _checked(name: str, layout_html: str, layout_text: str) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = N_("is required")
    try:
        layouts.check(layout_html, layout_text or "{{ content }}")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return name.strip()[:200], layout_html, layout_text or "{{ content }}"


def create(session: Session, name: str, layout_html: str, layout_text: str, actor: str) -> Template:
    """A new staff template; ValidationFailed names the field at fault. The caller commits."""
    name, layout_html, layout_text = _checked(name, layout_html, layout_text)
    template = Template(name=name, layout_html=layout_html, layout_text=layout_text, created_by=actor)
    session.add(template)
    session.flush()
    audit.record(session, actor, "template.create", "template", template.id, {})
    return template


def edit(
    session: Session, template: Template, name: str, layout_html: str, layout_text: str, actor: str
) -> None:
    """Change a template nobody has sent yet; Conflict (FROZEN) once one did. The caller commits."""
    if template.built_in:
        raise Conflict(BUILT_IN)
    name, layout_html, layout_text = _checked(name, layout_html, layout_text)
    changed = session.execute(
        update(Template)
        .where(Template.id == template.id, Template.frozen_at.is_(None), _unused())
        .values(name=name, layout_html=layout_html, layout_text=layout_text, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        raise Conflict(FROZEN)
    session.expire(template)
    audit.record(session, actor, "template.edit", "template", template.id, {})


def duplicate(session: Session, template: Template, actor: str) -> Template:
    """An editable copy ("Copy of …") of any template, frozen and built-in ones included."""
    copy = Template(
        name=(COPY_PREFIX + template.name)[:200],
        layout_html=template.layout_html,
        layout_text=template.layout_text,
        created_by=actor,
    )
    session.add(copy)
    session.flush()
    audit.record(session, actor, "template.duplicate", "template", copy.id, {"from": template.id})
    return copy


def freeze_for(session: Session, campaign: Campaign) -> None:
    """Freeze the campaign's template as it launches: from now on it is what was sent."""
    if campaign.template_id is None:
        return
    session.execute(
        update(Template)
        .where(Template.id == campaign.template_id, Template.frozen_at.is_(None))
        .values(frozen_at=utcnow())
        .execution_options(synchronize_session=False)
    )
