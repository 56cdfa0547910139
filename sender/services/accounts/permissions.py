"""Who may do what: the one table of roles per action, which every presenter (API, CLI, UI) enforces.

Purposes and their consent wordings are entries of the Art. 30 register: the DPO keeps them, marketers
do not. Marketers handle contacts (and their consent records), imports, lists and campaigns. The DPO
reads everything and may run the read-only audience preview, but never sends nor changes the audience.
"""

from __future__ import annotations

from sender.models.users import ROLES

# Action -> roles allowed to perform it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"admin", "marketer", "dpo"}),
    "purposes.manage": frozenset({"admin", "dpo"}),
    # The register of rights requests (R39) is the DPO's to keep.
    "requests.manage": frozenset({"admin", "dpo"}),
    "contacts.manage": frozenset({"admin", "marketer"}),
    "imports.manage": frozenset({"admin", "marketer"}),
    "lists.manage": frozenset({"admin", "marketer"}),
    "campaigns.manage": frozenset({"admin", "marketer"}),
    "campaigns.preview": frozenset({"admin", "marketer", "dpo"}),
    "campaigns.send": frozenset({"admin", "marketer"}),
    # Sending to legacy contacts needs the DPO's sign-off, recorded on the campaign (R50).
    "campaigns.approve": frozenset({"admin", "dpo"}),
    "users.manage": frozenset({"admin"}),
    "tokens.manage": frozenset({"admin"}),
}
assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())


def allowed(role: str, action: str) -> bool:
    """Whether a role may perform an action; an action missing from the table is refused to everyone."""
    return role in PERMISSIONS.get(action, frozenset())


def roles_for(action: str) -> list[str]:
    """The roles allowed to perform an action, in the order of ROLES (for documentation)."""
    return [role for role in ROLES if allowed(role, action)]
