"""App-wide 404, 405 and 500: JSON under /api, a small HTML page elsewhere, nothing about the failure shown."""

from __future__ import annotations

from typing import NoReturn

import pytest
from flask import Flask

from sender import create_app
from sender.runtime import Runtime


@pytest.fixture
def failing_app(runtime: Runtime) -> Flask:
    """The real app (not in testing mode, so errors are handled as in production) with two failing views."""
    app = create_app(runtime=runtime)

    def boom() -> NoReturn:
        raise RuntimeError("secret detail: jeanne@example.com")

    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    app.add_url_rule("/boom", "page_boom", boom)
    return app


def test_unhandled_error_under_api_is_json_500_without_detail(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "internal_server_error"
    assert "jeanne" not in response.get_data(as_text=True)


def test_unhandled_error_elsewhere_is_a_small_html_page(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "Erreur interne" in text and "jeanne" not in text


def test_unknown_page_is_html_404(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page introuvable" in response.get_data(as_text=True)


def test_wrong_method_outside_the_api_is_html_405_with_allow(failing_app: Flask) -> None:
    response = failing_app.test_client().delete("/healthz")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "GET" in response.headers["Allow"]


def test_api_prefix_itself_is_json_404(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/api/v1")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_error_pages_speak_the_browser_language_outside_the_staff_pages(failing_app: Flask) -> None:
    client = failing_app.test_client()
    english = client.get("/nowhere", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Page not found" in english and 'lang="en"' in english and "introuvable" not in english
    french = client.get("/boom", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Erreur interne" in french and 'lang="fr"' in french
    english_500 = client.get("/boom", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Internal error" in english_500 and "jeanne" not in english_500
