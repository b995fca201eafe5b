"""What every view uses: page or fragment (with `Vary: HX-Request`), the HX-Trigger events a
change sets off, a 404 that says what is missing, and the permission decorator."""
from __future__ import annotations

from functools import wraps
from typing import TypeVar

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from blueprints._web.layer import current_locale
from domain.ledger import queries
from domain.listing import Page
from domain.models import Customer
from extensions import db

T = TypeVar("T")


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page (a boosted navigation wants the whole page)."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def render_view(page_template: str, fragment_template: str, *, kept_with: object | None = None, **context):
    """The full page, or only the fragment htmx swaps; `Vary` keeps caches from mixing them. A list
    asked for a page past its end (an old link, a typed URL, rows gone since) goes to its last page.

    `kept_with`: a view the domain keeps (domain.ledger.queries caches one object per stamp, day and
    filters): its fragment is rendered once per language and role and reused while the object lives;
    the page template shows it as `fragment_html`."""
    past_end = _page_past_the_end(context.values())
    if past_end:
        return past_end
    if kept_with is None:
        html = render_template(fragment_template if wants_fragment() else page_template, **context)
    else:
        html = _rendered_once(kept_with, fragment_template, context)
        if not wants_fragment():
            html = render_template(page_template, fragment_html=html, **context)
    response = current_app.make_response(html)
    response.vary.add("HX-Request")
    return response


# The same cached view object means the same rows, filters and day: what else its fragment reads is the
# reader's language, role (what they may do) and the app's root URL, so that is the rest of the key. The
# object is kept beside its HTML so that a recycled id() never matches.
_rendered: dict[tuple, tuple[object, Markup]] = {}
_RENDERED_SIZE = 256


def _rendered_once(view: object, template: str, context: dict) -> Markup:
    app = current_app._get_current_object()
    key = (id(view), template, current_locale(), current_user.role, request.script_root, id(app))
    kept = _rendered.get(key)
    if kept is not None and kept[0] is view:
        return kept[1]
    html = Markup(render_template(template, **context))
    if app.jinja_env.auto_reload:  # a developer editing templates sees each edit
        return html
    if len(_rendered) >= _RENDERED_SIZE:
        _rendered.clear()
    _rendered[key] = (view, html)
    return html


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
