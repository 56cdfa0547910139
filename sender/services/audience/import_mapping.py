"""Which CSV column feeds which contact field: common French and English headers, plus explicit overrides."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from sender.i18n import N_
from sender.services.errors import ValidationFailed

FIELDS = ("email", "phone", "first_name", "last_name", "locale", "country", "timezone")
# Each row's own proof of consent (R58): a row of a file holding these columns is granted only with its own.
PROOF_FIELDS = ("consent_date", "consent_source", "consent_wording_version", "consent_ip", "consent_form_id")
ATTRIBUTE_PREFIX = "attributes."
IGNORE = "ignore"
MAX_ATTRIBUTE_NAME = 64

_ALIASES = {
    "email": (
        "email",
        "e-mail",
        "courriel",
        "mail",
        "adresse email",
        "adresse e-mail",
        "adresse mail",
        "adresse électronique",
        "email address",
        "e-mail address",
    ),
    "phone": (
        "phone",
        "téléphone",
        "tel",
        "tél",
        "mobile",
        "portable",
        "gsm",
        "cell",
        "phone number",
        "mobile phone",
        "numéro de téléphone",
        "téléphone mobile",
    ),
    "first_name": ("first_name", "first name", "firstname", "given name", "prénom"),
    "last_name": ("last_name", "last name", "lastname", "surname", "family name", "nom", "nom de famille"),
    "locale": ("locale", "language", "lang", "langue"),
    "country": ("country", "country code", "pays", "code pays"),
    "timezone": ("timezone", "time zone", "fuseau horaire"),
    "consent_date": (
        "consent_date",
        "consent date",
        "consented on",
        "date of consent",
        "opt-in date",
        "date de consentement",
        "date du consentement",
        "consentement le",
        "date opt-in",
    ),
    "consent_source": (
        "consent_source",
        "consent source",
        "source of consent",
        "opt-in source",
        "source du consentement",
        "source de consentement",
        "source consentement",
    ),
    "consent_wording_version": (
        "consent_wording_version",
        "consent wording version",
        "wording version",
        "consent version",
        "version du texte",
        "version du texte de consentement",
        "version du consentement",
        "version de la mention",
    ),
    "consent_ip": ("consent_ip", "consent ip", "ip", "ip address", "adresse ip", "ip du consentement"),
    "consent_form_id": (
        "consent_form_id",
        "consent form",
        "form id",
        "form",
        "formulaire",
        "id du formulaire",
        "identifiant du formulaire",
    ),
}


def header_key(text: str) -> str:
    """A header reduced to lower-case ASCII letters and digits: 'E-mail' and 'Prénom ' match 'email', 'prenom'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.lower() if ch.isascii() and ch.isalnum())


_KNOWN = {header_key(alias): field for field, aliases in _ALIASES.items() for alias in aliases}


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`column=field` strings (CLI --map) as a mapping; a malformed pair is a ValidationFailed."""
    result: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValidationFailed({"mapping": N_("%(pair)r is not column=field", pair=pair)})
        result[column.strip()] = target.strip()
    return result


def _check_target(column: str, target: str) -> str | None:
    if target in FIELDS or target in PROOF_FIELDS or target == IGNORE:
        return None
    if target.startswith(ATTRIBUTE_PREFIX):
        name = target[len(ATTRIBUTE_PREFIX) :]
        if name and len(name) <= MAX_ATTRIBUTE_NAME and name.replace("_", "").isalnum():
            return None
    return N_(
        "column %(column)r: %(target)r is not a field; use one of %(choices)s, "
        "attributes.<name> (letters, digits, _) or %(ignore)s",
        column=column,
        target=target,
        choices=", ".join((*FIELDS, *PROOF_FIELDS)),
        ignore=IGNORE,
    )


def resolve(header: Sequence[str], overrides: Mapping[str, str]) -> list[str | None]:
    """The target of each column (None: not imported); overrides by header name win over detection."""
    errors: list[str] = []
    keys = [header_key(name) for name in header]
    targets: list[str | None] = [None] * len(header)
    overridden: set[int] = set()
    for column, target in overrides.items():
        problem = _check_target(column, target)
        matches = [i for i, key in enumerate(keys) if key == header_key(column)]
        if problem:
            errors.append(problem)
        elif not matches:
            errors.append(
                N_(
                    "no column named %(column)r; the columns are %(choices)s",
                    column=column,
                    choices=", ".join(map(repr, header)),
                )
            )
        for i in matches:
            targets[i] = None if target == IGNORE else target
            overridden.add(i)
    claimed = {t for t in targets if t}
    for i, key in enumerate(keys):
        detected = _KNOWN.get(key)
        if i in overridden or detected is None or detected in claimed:
            continue
        targets[i] = detected
        claimed.add(detected)
    seen: dict[str, str] = {}
    for name, mapped in zip(header, targets, strict=True):
        if mapped is None:
            continue
        if mapped in seen:
            errors.append(
                N_(
                    "%(field)s is mapped from both %(first)r and %(second)r",
                    field=mapped,
                    first=seen[mapped],
                    second=name,
                )
            )
        seen[mapped] = name
    if errors:
        # One reason keeps its catalogue form, so that pages translate it.
        raise ValidationFailed({"mapping": errors[0] if len(errors) == 1 else "; ".join(errors)})
    if "email" not in seen and "phone" not in seen:
        raise ValidationFailed(
            {
                "mapping": N_(
                    "no column holds an email or a phone number; the columns are %(choices)s: map one, e.g. %(header)r=email",
                    choices=", ".join(map(repr, header)),
                    header=header[0],
                )
            }
        )
    return targets
