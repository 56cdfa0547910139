"""Public pages of requalification answers (no login): the question on GET, the answer on POST.

GET never changes anything (mail scanners follow links); the buttons POST, authorised by the signed token
alone. After the deadline, or once the contact is erased, the page offers to sign up again.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask.typing import ResponseReturnValue

from sender.services.accounts import organisation
from sender.services.consent import requalify_answers
from sender.services.consent.requalify_answers import AnswerLinkInvalid, Question
from sender.web.public.common import SECURITY_HEADERS
from sender.web.session import discard, get_session, runtime

bp = Blueprint("requalify", __name__)
ANSWERS = ("confirm", "decline")
INVALID_STATUS = 404


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _page(answer: str, question: Question, answered: bool) -> ResponseReturnValue:
    return render_template(
        "public/requalify.html",
        org=organisation.controller(get_session(), runtime().settings),
        answer=answer,
        question=question,
        answered=answered,
        signup_url=f"{runtime().settings.public_base_url}/signup",
    )


def _invalid() -> ResponseReturnValue:
    return render_template(
        "public/invalid_link.html", org=organisation.controller(get_session(), runtime().settings)
    ), INVALID_STATUS


@bp.get("/requalify/<answer>/<token>")
def show(answer: str, token: str) -> ResponseReturnValue:
    """The question and one button; nothing is recorded."""
    if answer not in ANSWERS:
        abort(404)
    try:
        question = requalify_answers.look(get_session(), runtime().tokens, answer, token)
    except AnswerLinkInvalid:
        return _invalid()
    return _page(answer, question, answered=False)


@bp.post("/requalify/<answer>/<token>")
def respond(answer: str, token: str) -> ResponseReturnValue:
    """Record the answer while the cycle is open; otherwise say it has ended."""
    if answer not in ANSWERS:
        abort(404)
    session = get_session()
    try:
        question = requalify_answers.respond(session, runtime().tokens, answer, token)
    except AnswerLinkInvalid:
        discard()
        return _invalid()
    return _page(answer, question, answered=True)
