"""Staff pages (server-rendered, signed in): the `admin` blueprint under /admin, plus `/` and first-run setup.

How a feature page plugs in:
- Write `sender/web/admin/<feature>.py` with plain view functions, and add one `Route` per URL to the
  table `ROUTES` of `sender/web/admin/routes.py` (path under /admin, endpoint name, view, methods);
  endpoints read `admin.<name>` (for example `admin.imports`). Nothing is registered by importing a module.
- Every view of the blueprint requires a signed-in user (checked in a `before_request`); guard each view
  with `@requires("<permission>")` from `sender.web.admin.auth` (the matrix is `PERMISSIONS` there; add
  your permission to it). A refused permission answers 403.
- Templates extend `admin/base.html` and fill the blocks `title` and `content`.
- Forms subclass `sender.web.admin.forms.Form` (Flask-WTF) and render `{{ form.csrf_token }}`; every POST
  to the blueprint is CSRF-checked anyway, including hand-written forms (add
  `<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`). Field errors are shown next to
  their field with the `field` macro of `admin/_forms.html`.
- A form or button acts through `run_action` of `sender.web.admin.forms`: it calls the service, flashes
  the success and redirects, or discards what the call wrote and shows the refusal (`ValidationFailed`
  next to the fields of a page rendered again, `Conflict` / `Forbidden` flashed or on a named field);
  `NotFound` is the app-wide 404. Views never commit: the request's unit of work does, once the view
  has answered below 400 (`sender.web.session`). Other flashes: `flash(message, "success" | "error")`.
  The current user's audit name is `auth.actor()`.
- No inline script or style (the CSP forbids them): put JS in `static/admin/*.js`, loaded with
  `<script src="{{ url_for('admin.static', filename='admin/x.js') }}">` in the `scripts` block.
- Text is translated with Flask-Babel: `{{ _("...") }}` in templates, `gettext as _` in views and
  `lazy_gettext as _l` for form labels; the French catalog is translations/fr/LC_MESSAGES/messages.po.
  A stored code is shown with the `label` filter (`{{ c.status|label("ContactStatus") }}`) and offered
  in a select with `labels.choices_of(...)` (sender/web/labels.py), never raw.
- The navigation of the base layout links `admin.imports` (shown to the `imports` permission) as soon as
  that endpoint exists.
"""

from __future__ import annotations

from flask import Flask

from sender.web.admin import auth, security


def register(app: Flask) -> None:
    """Attach the staff pages (the route table), sign-in, CSRF, translations and security headers to the app."""
    from sender.web.admin import routes

    auth.init_app(app)
    security.init_app(app)
    routes.register(app)
