"""The blueprint every staff page attaches to, and the root one that sends `/` to the right place."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue

from sender.paths import resource_dir

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    static_folder=str(resource_dir("static")),
    static_url_path="/static",
)
root = Blueprint("root", __name__)


@root.get("/")
def index() -> ResponseReturnValue:
    """The staff pages of this branch start at the imports (the staff-pages branch adds setup and sign-in)."""
    return redirect(url_for("admin.imports"))
