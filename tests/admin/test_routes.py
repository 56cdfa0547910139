"""The staff route table: every guarded view is reachable, each endpoint is named once, apps do not share it."""

from __future__ import annotations

import inspect
from types import ModuleType

from flask import Flask

from sender import create_app
from sender.runtime import Runtime
from sender.web.admin import routes


def _page_modules() -> list[ModuleType]:
    return [
        value
        for value in vars(routes).values()
        if inspect.ismodule(value) and value.__name__.startswith("sender.web.admin.")
    ]


def test_every_view_guarded_by_a_permission_has_a_route() -> None:
    # `@requires` wraps a view (functools.wraps sets __wrapped__): a view written but left out of the table
    # would answer nowhere.
    guarded = {
        value
        for module in _page_modules()
        for value in vars(module).values()
        if inspect.isfunction(value) and hasattr(value, "__wrapped__") and value.__module__ == module.__name__
    }
    assert guarded and guarded <= {route.view for route in routes.ROUTES}


def test_each_endpoint_is_named_once() -> None:
    names = [route.name for route in routes.ROUTES]
    assert len(names) == len(set(names))


def test_each_app_gets_its_own_blueprints(app: Flask, runtime: Runtime) -> None:
    other = create_app({"TESTING": True}, runtime=runtime)
    assert app.blueprints["admin"] is not other.blueprints["admin"]
    assert {r.endpoint for r in app.url_map.iter_rules()} == {r.endpoint for r in other.url_map.iter_rules()}
    by_name = {route.name: route.view for route in routes.ROUTES}
    assert app.view_functions["admin.imports"] is other.view_functions["admin.imports"] is by_name["imports"]
