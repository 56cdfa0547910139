"""The contact fields a template can greet people with: the composer's insert menu, and which ones a
campaign's templates use (so that those missing for part of the audience can be counted before sending)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, nodes

from sender.i18n import N_
from sender.services.messages.sandbox import TEXT_ENV

# The fields of every contact a template reads (sandbox.TemplateContact), with the fallback offered for each.
CONTACT_FIELDS = {
    "first_name": (N_("First name"), "ami"),
    "last_name": (N_("Last name"), ""),
    "country": (N_("Country"), ""),
    "locale": (N_("Language"), ""),
}
_DEFAULTS = frozenset({"default", "d"})


@dataclass(frozen=True)
class Insertable:
    """One entry of the insert menu: the field's label and the expression inserted, fallback included."""

    name: str
    label: str
    expression: str
    # A key of the contacts' `attributes`: its label is the key itself, never translated.
    custom: bool = False


def expression(name: str, fallback: str) -> str:
    """The template expression greeting a contact by a field, with its fallback when missing or empty."""
    return f'{{{{ contact.{name} | default("{fallback}") }}}}'


def insertable(attribute_keys: Iterable[str] = ()) -> list[Insertable]:
    """The insert menu: every contact field, then each custom attribute, each with its fallback.

    The first name falls back to "ami"; the others to an empty text, which the composer's fallback box
    replaces with what the author types.
    """
    standard = [
        Insertable(name, label, expression(name, fallback))
        for name, (label, fallback) in CONTACT_FIELDS.items()
    ]
    custom = [
        Insertable(f"attributes.{key}", key, expression(f"attributes.{key}", ""), custom=True)
        for key in attribute_keys
    ]
    return standard + custom


@dataclass(frozen=True)
class UsedField:
    """A contact field (or an attribute, `attributes.<key>`) a template reads, and whether it has a fallback."""

    name: str
    fallback: bool


def _field_of(node: nodes.Node) -> str | None:
    """`first_name` for `contact.first_name`, `attributes.city` for `contact.attributes.city` or `["city"]`."""
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        inner = node.node
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if not isinstance(key, str):
            return None
        if isinstance(inner, nodes.Name) and inner.name == "contact" and key in CONTACT_FIELDS:
            return key
        if (
            isinstance(inner, nodes.Getattr)
            and inner.attr == "attributes"
            and isinstance(inner.node, nodes.Name)
            and inner.node.name == "contact"
        ):
            return f"attributes.{key}"
    return None


def used_fields(sources: Iterable[str]) -> list[UsedField]:
    """The contact fields the templates read, in order of first use; a field has a fallback if every use has."""
    seen: dict[str, bool] = {}
    for source in sources:
        try:
            tree = TEXT_ENV.parse(source)
        except TemplateSyntaxError:
            continue  # a template that does not compile is refused when saved
        with_default = {id(node.node) for node in tree.find_all(nodes.Filter) if node.name in _DEFAULTS}
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            name = _field_of(node)
            if name is not None:
                seen[name] = seen.get(name, True) and id(node) in with_default
    return [UsedField(name, fallback) for name, fallback in seen.items()]
