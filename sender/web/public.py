"""Public pages reached from links in messages (no login)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)
