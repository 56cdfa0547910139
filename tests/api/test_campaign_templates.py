"""Hostile campaign templates are refused at save time with a 422 naming the field and the limit (issues 7, 15)."""

from __future__ import annotations

import resource
import time
from typing import Any

import pytest

from sender.services.messages.sandbox import SAMPLE_CONTACT
from tests.api.helpers import Api, create_purpose

BODY = {
    "name": "December news",
    "subject": "News for you, {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }}!",
    "body_html": "<p>Hello {{ contact.first_name }}!</p>",
}
NESTED_LOOPS = (
    "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% for c in 'x' * 1000 %}"
    "{{ c }}{% endfor %}{% endfor %}{% endfor %}"
)
STEPS = "line 1: rendering needs more than 100,000 steps (loop iterations, calls, operations) (limit)"
VALUE = "line 1: builds a value of more than 1,000,000 characters (limit)"
OUTPUT = "line 1: renders to more than 1,000,000 characters (limit)"
COMPARED = "line 1: sorts or compares more than 1,000,000 characters (limit)"
# Small to hold (ten thousand references to one string), ten billion characters to write out.
MILLIONS = "['x' * 1000000] * 10000"


@pytest.fixture
def draft(api: Api) -> dict[str, Any]:
    """A valid campaign body whose purpose and list exist."""
    create_purpose(api)
    lst = api.post("/lists", {"name": "All"})
    return {**BODY, "purpose": "newsletter", "lists": [lst["id"]]}


def refused(api: Api, body: dict[str, Any]) -> dict[str, str]:
    """POST the campaign, expect a 422, check nothing was saved; return the field messages."""
    answer = api.post("/campaigns", body, 422)
    assert api.get("/campaigns")["items"] == []
    fields: dict[str, str] = answer["fields"]
    return fields


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        # Finding 1: three nested loops of 1,000 took 31 s to validate, then were accepted.
        ("body_html", NESTED_LOOPS, STEPS),
        ("body_text", f"Hi\n{NESTED_LOOPS}", STEPS.replace("line 1", "line 2")),
        (
            "body_text",
            "{% set s = 'ab' * 400000 %}{% for i in 'x' * 5000 %}{{ s.count('b') }}{% endfor %}",
            "line 1: rendering took more than 300 ms of processor time (limit)",
        ),
        (
            "body_html",
            "{% for i in 'x' * 2000 %}{{ 'y' * 1000 }}{% endfor %}",
            "renders to more than 1,000,000 characters (limit)",
        ),
        (
            "body_text",
            "{% macro deeper(n) %}{{ deeper(n + 1) }}{% endmacro %}{{ deeper(0) }}",
            "line 1: macro calls nested more than 20 deep (limit)",
        ),
        # Finding 2: the cap applied per operation, not to the result.
        (
            "body_text",
            "{{ 'x' * 10000 * 10000 }}",
            "line 1: builds a value of more than 1,000,000 characters (limit)",
        ),
        # Finding 2: a 24-character subject kept a work horse busy for 6 minutes.
        ("subject", "{{ 99**99**99**99**99 }}", "line 1: builds a number of more than 4,096 bits (limit)"),
        (
            "body_text",
            "{% set a = 'x' * 10000 %}{% set b = a ~ a ~ a ~ a ~ a ~ a ~ a ~ a ~ a ~ a %}"
            "{% set c = b ~ b ~ b ~ b ~ b ~ b ~ b ~ b ~ b ~ b ~ b %}{{ c }}",
            "line 1: builds a value of more than 1,000,000 characters (limit)",
        ),
        (
            "body_text",
            "{{ 'x'.ljust(100000000) }}",
            "line 1: asks for a width of more than 1,000,000 characters (limit)",
        ),
        (
            "body_text",
            "{{ '%100000000s' % 'x' }}",
            "line 1: asks for a width of more than 1,000,000 characters (limit)",
        ),
        (
            "body_html",
            "{{ ('x' * 10000)|replace('', 'y' * 10000) }}",
            "line 1: builds a value of more than 1,000,000 characters (limit)",
        ),
        (
            "body_text",
            "{{ ('x ' * 100000).split() }}",
            "line 1: builds a list of more than 10,000 items (limit)",
        ),
        (
            "body_html",
            "{% if contact.country %}" * 11 + "x" + "{% endif %}" * 11,
            "line 1: blocks ({% for %}, {% if %}…) nested more than 10 deep (limit)",
        ),
        ("subject", "{{ " + "-" * 60 + "1 }}", "line 1: expression nested more than 50 deep (limit)"),
        (
            "body_text",
            "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
            "line 1: the template is nested too deeply to read (limit)",
        ),
    ],
)
def test_templates_over_a_render_limit_are_refused_with_the_limit(
    api: Api, draft: dict[str, Any], field: str, source: str, message: str
) -> None:
    assert refused(api, {**draft, field: source}) == {field: message}


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.attributes.update({'plan': 'x' * 10000}) }}",
        "{% set ignored = contact.attributes.setdefault('plan', 'x') %}",
        "{{ contact.attributes.pop('plan') }}",
    ],
)
def test_contact_data_is_read_only(api: Api, draft: dict[str, Any], source: str) -> None:
    (message,) = refused(api, {**draft, "body_text": f"Hi\n{source}"}).values()
    assert message.startswith("line 2: contact data is read-only")
    # The sample every validation renders with is still empty: nothing leaked into it.
    assert dict(SAMPLE_CONTACT.attributes) == {}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{% set l = [] %}{{ l.append(1) }}",
            "line 1: access to attribute 'append' of 'list' object is unsafe.",
        ),
        (
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
            "line 1: recursive loops are not available",
        ),
    ],
)
def test_templates_cannot_grow_values_in_place(
    api: Api, draft: dict[str, Any], source: str, message: str
) -> None:
    assert refused(api, {**draft, "body_html": source}) == {"body_html": message}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body_text", "Hello\x00", "must not contain NUL characters"),
        ("subject", "News \ud800", "must not contain lone surrogates (invalid Unicode)"),
        ("body_html", "<p>\udfff</p>", "must not contain lone surrogates (invalid Unicode)"),
        ("name", "Dec\x00", "must not contain NUL characters"),
    ],
)
def test_content_that_cannot_be_stored_is_refused(
    api: Api, draft: dict[str, Any], field: str, value: str, message: str
) -> None:
    assert refused(api, {**draft, field: value}) == {field: message}


def test_a_realistic_template_is_accepted(api: Api, draft: dict[str, Any]) -> None:
    html = (
        '<table width="600"><tr><td style="color:#333">'
        "{% for k, v in contact.attributes|dictsort %}<p>{{ k|title }}: {{ v }}</p>{% endfor %}"
        '{% macro button(url, label) %}<a href="{{ url }}">{{ label|upper }}</a>{% endmacro %}'
        "{{ button('https://shop.example.org/?src=' ~ contact.country|lower, 'Shop') }}"
        "</td></tr></table>"
    )
    created = api.post(
        "/campaigns", {**draft, "body_html": html, "body_text": "{{ '%-10s|' % contact.first_name }}"}
    )
    assert created["body_html"] == html


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # Issue 15, item 3: 22-25 s and 0.7 GB, then accepted; the others grew the web process to 3 GB.
        ("{{ [[1] * 10000] * 10000 }}", VALUE),
        ("{{ [[[1] * 10000] * 10000] * 10000 }}", VALUE),
        (f"{{{{ {MILLIONS} }}}}", VALUE),
        (f"{{{{ ({MILLIONS})|string|length }}}}", VALUE),
        (f"{{{{ ({MILLIONS})|tojson|length }}}}", VALUE),
        (f"{{{{ ({MILLIONS})|pprint|length }}}}", VALUE),
        (f"{{{{ ({MILLIONS} ~ '')|length }}}}", VALUE),
        (f"{{{{ ({MILLIONS})|join|length }}}}", VALUE),
        ("{{ ('{0}' * 300000).format('x' * 1000000)|length }}", VALUE),
        (f"{{{{ '%s'|format({MILLIONS})|length }}}}", VALUE),
        ("{{ ('%(a)s' * 300000)|format(a='x' * 1000000)|length }}", VALUE),
        (f"{{{{ ({MILLIONS})|map('upper')|list|length }}}}", VALUE),
        (f"{{{{ ({MILLIONS})|sort|length }}}}", COMPARED),
        (f"{{{{ ({MILLIONS})|unique|list|length }}}}", COMPARED),
        ("{{ [[[1] * 10000] * 10000] * 10000 == [[[1] * 10000] * 10000] * 10000 }}", COMPARED),
        ("{{ [[1] * 10000] * 10000 is eq([[1] * 10000] * 10000) }}", COMPARED),
        # What a block, a macro or {% set %} keeps is counted as it grows, not once joined.
        (
            "{% set s %}{% for i in 'x' * 5000 %}{{ 'y' * 1000000 }}{% endfor %}{% endset %}{{ s|length }}",
            OUTPUT,
        ),
        (
            "{% macro m() %}{% for i in 'x' * 5000 %}{{ 'y' * 1000000 }}{% endfor %}{% endmacro %}"
            "{{ m()|length }}",
            OUTPUT,
        ),
        ("{% set a = 'x' * 1000000 %}{% set b %}" + "{{a}}" * 35 + "{% endset %}{{ b|length }}", OUTPUT),
    ],
)
def test_what_an_expression_builds_is_refused_before_it_is_built(
    api: Api, draft: dict[str, Any], source: str, message: str
) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()

    fields = refused(api, {**draft, "subject": source, "body_html": source, "body_text": source})

    assert fields == {"subject": message, "body_html": message, "body_text": message}
    # Seconds, not the tens of seconds of before (a loaded machine included).
    assert time.monotonic() - start < 15
    # The web process did not grow: the check ran in a child under hard limits (ru_maxrss is in KiB).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024


def test_values_that_are_written_out_within_the_limits_are_accepted(api: Api, draft: dict[str, Any]) -> None:
    text = (
        "{{ [[1] * 10] * 10 }} {{ ('ab' * 1000)|string|length }} {{ contact.attributes|tojson }}"
        " {{ ['b', 'a']|sort|join(',') }} {{ '%s/%s'|format(1, [2]) }} {{ '{0}-{1}'.format('a', [1]) }}"
        " {{ [1, 2] == [1, 2] }} {{ 2 in [1, 2] }} {% set s %}{{ 'y' * 1000 }}{% endset %}{{ s|length }}"
    )
    created = api.post("/campaigns", {**draft, "body_text": text})
    assert created["body_text"] == text
