"""What every view uses: page or fragment (with `Vary: HX-Request`), the HX-Trigger events a
change sets off, a 404 that says what is missing, and the permission decorator."""
from __future__ import annotations

from functools import wraps
from typing import TypeVar

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from domain.ledger import queries
from domain.listing import Page
from domain.models import Customer
from extensions import db

T = TypeVar("T")


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page (a boosted navigation wants the whole page)."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def render_view(page_template: str, fragment_template: str, **context):
    """The full page, or only the fragment htmx swaps; `Vary` keeps caches from mixing them. A list
    asked for a page past its end (an old link, a typed URL, rows gone since) goes to its last page."""
    past_end = _page_past_the_end(context.values())
    if past_end:
        return past_end
    template = fragment_template if wants_fragment() else page_template
    response = current_app.make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response


def _page_past_the_end(values):
    for value in values:
        if isinstance(value, Page) and value.page > value.pages and request.endpoint:
            args = {**request.view_args, **request.args.to_dict(), "page": value.pages}
            if value.pages == 1:
                args.pop("page")
            response = redirect(url_for(request.endpoint, **args))
            response.vary.add("HX-Request")
            return response
    return None


def permission_required(permission: str):
    """Login and a role allowing `permission`, else a 403 the page shows."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.can(permission):
                abort(403, description=_("Your role does not allow this."))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def fragment(html: str, status: int = 200, events: tuple[str, ...] = (), headers: dict | None = None):
    """A fragment htmx swaps in: `Vary: HX-Request` (the same URL may give a page), and the events
    it sets off for the rest of the page (HX-Trigger, names in blueprints._web.events)."""
    response = current_app.make_response((html, status, headers or {}))
    response.vary.add("HX-Request")
    if events:
        response.headers["HX-Trigger"] = ", ".join(events)
    return response


def found(thing: T | None, description: str) -> T:
    """`thing`, or a 404 page saying what is missing."""
    if thing is None:
        abort(404, description=description)
    return thing


def get_or_404(model: type[T], ident, description: str) -> T:
    return found(db.session.get(model, ident), description)


def customer_or_404(account: str) -> Customer:
    return found(queries.find_customer(db.session, account),
                 _("There is no customer with account %(account)s.", account=repr(account)))
