"""sender: privacy-safe email and SMS campaigns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from sender.config import Settings, load_settings
from sender.paths import resource_dir
from sender.runtime import Runtime, build_runtime
from sender.scrub import install_log_scrubber


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    """Application factory: wires settings, database, blueprints; opens no connection itself."""
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    settings = runtime.settings
    from sender.tasks.queue import bind_queue
    from sender.web.session import App

    # The app is the top of its process: the jobs its requests record leave through RQ.
    bind_queue(runtime)

    app = App(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(resource_dir("templates")),
    )
    app.config.from_mapping(
        SECRET_KEY=settings.secret_keys[-1],
        # Older keys still verify session cookies after a rotation.
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[:-1]),
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    if overrides:
        app.config.from_mapping(overrides)
    app.extensions["sender"] = runtime
    logging.basicConfig(level=settings.log_level)
    install_log_scrubber()

    from sender.web import register

    register(app)
    return app


def get_runtime(app: Flask) -> Runtime:
    """The runtime attached to an app by create_app."""
    runtime: Runtime = app.extensions["sender"]
    return runtime
