"""Who may do what: the one table of roles per action, which every presenter (API, CLI, UI) enforces; the
staff pages name their actions their own way and read their roles here (web/admin/auth.py).

Purposes and their consent wordings are entries of the Art. 30 register: the DPO keeps them, marketers
do not. Marketers handle contacts (and their consent records), imports, lists and campaigns. The DPO
reads everything and may run the read-only audience preview, but never sends nor changes the audience.
"""

from __future__ import annotations

from sender.enums import Role
from sender.models.users import ROLES

# Action -> roles allowed to perform it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({Role.ADMIN, Role.MARKETER, Role.DPO}),
    "purposes.manage": frozenset({Role.ADMIN, Role.DPO}),
    # The register of rights requests (R39) is the DPO's to keep: it names people and what they asked, so only
    # the DPO and admins read it, in the API as on its staff page and export (least privilege, Art. 5(1)(f)).
    "requests.manage": frozenset({Role.ADMIN, Role.DPO}),
    "requests.read": frozenset({Role.ADMIN, Role.DPO}),
    "contacts.manage": frozenset({Role.ADMIN, Role.MARKETER}),
    # Actions the staff pages offer on one contact: restriction (Art. 18) and erasure (Art. 17) are also the
    # DPO's to carry out; the addresses are shown to whoever reads contacts, exported by those who send.
    "contacts.restrict": frozenset({Role.ADMIN, Role.MARKETER, Role.DPO}),
    "contacts.erase": frozenset({Role.ADMIN, Role.DPO}),
    "contacts.see_addresses": frozenset({Role.ADMIN, Role.MARKETER, Role.DPO}),
    "exports.addresses": frozenset({Role.ADMIN, Role.MARKETER}),
    "imports.manage": frozenset({Role.ADMIN, Role.MARKETER}),
    "lists.manage": frozenset({Role.ADMIN, Role.MARKETER}),
    "campaigns.manage": frozenset({Role.ADMIN, Role.MARKETER}),
    "campaigns.preview": frozenset({Role.ADMIN, Role.MARKETER, Role.DPO}),
    "campaigns.send": frozenset({Role.ADMIN, Role.MARKETER}),
    # Sequences are campaigns sent step by step: built by marketers, activated (sent) by them too.
    "sequences.manage": frozenset({Role.ADMIN, Role.MARKETER}),
    "sequences.activate": frozenset({Role.ADMIN, Role.MARKETER}),
    # Sending to legacy contacts needs the DPO's sign-off, recorded on the campaign (R50).
    "campaigns.approve": frozenset({Role.ADMIN, Role.DPO}),
    # The breach register and the proofs of honouring and consent are the DPO's records (R74, R77, R2).
    "breaches.read": frozenset({Role.ADMIN, Role.DPO}),
    "breaches.manage": frozenset({Role.ADMIN, Role.DPO}),
    "proofs.read": frozenset({Role.ADMIN, Role.DPO}),
    # The register of processing, processors inventory and DPIAs (R71, R75, R76): the DPO's and admins'.
    "records.read": frozenset({Role.ADMIN, Role.DPO}),
    "records.manage": frozenset({Role.ADMIN, Role.DPO}),
    # The audit trail is the DPO's proof (R73): admins and the DPO read and verify it.
    "audit.read": frozenset({Role.ADMIN, Role.DPO}),
    # The organisation's identity and settings (its settings page).
    "organisation.manage": frozenset({Role.ADMIN}),
    "users.manage": frozenset({Role.ADMIN}),
    "tokens.manage": frozenset({Role.ADMIN}),
    # Outgoing webhooks send data to other systems: only admins set where it goes.
    "webhooks.manage": frozenset({Role.ADMIN}),
    # Transactional messages (contract, legal obligation) to one contact, from an integration.
    "messages.send": frozenset({Role.ADMIN, Role.MARKETER}),
}
assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())


def allowed(role: str, action: str) -> bool:
    """Whether a role may perform an action; an action missing from the table is refused to everyone."""
    return role in PERMISSIONS.get(action, frozenset())


def roles_for(action: str) -> list[str]:
    """The roles allowed to perform an action, in the order of ROLES (for documentation)."""
    return [role for role in ROLES if allowed(role, action)]
