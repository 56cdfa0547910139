"""The blueprint every staff page attaches to, and the root one that sends `/` to the right place."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

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
    """First run leads to setup; otherwise the dashboard (which asks to sign in first)."""
    from sender.web.admin import setup

    if setup.needs_setup():
        return redirect(url_for("admin.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    return redirect(url_for("admin.signin"))
