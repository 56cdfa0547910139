"""Published JSON Schemas of what the public pages hand out (the portability export, R41)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from sender.services.rights.export import SCHEMA, SCHEMA_PATH
from sender.web.public import bp


@bp.get(SCHEMA_PATH)
def export_schema() -> ResponseReturnValue:
    """The JSON Schema every data export validates against."""
    response = jsonify(SCHEMA)
    response.mimetype = "application/schema+json"
    return response
