"""The web layer installed on the app: login loading, security headers, error pages that htmx
can show, and the template filters (money, numbers, dates) and globals."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from numbers import Number
from urllib.parse import quote, urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, get_decimal_symbol
from flask import (Flask, current_app, flash, g, has_app_context, has_request_context, redirect, render_template,
                   request, url_for)
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import pass_context, pass_eval_context
from markupsafe import Markup, escape
from stdnum import iban as iban_numbers
from werkzeug.exceptions import HTTPException

from blueprints._web.icons import icon_for
from domain import i18n
from domain.listing import FilterError
from domain.models import LANGUAGES
from domain.money import format_money, plain
from domain.users import ROLE_LABELS, user_for_session
from extensions import db, login_manager
from jobs.base import BackgroundUnavailable

# No inline script or style anywhere (htmx runs with allowEval off and its indicator styles in
# app.css); no framing (clickjacking), no MIME sniffing, no full URLs leaked to other sites.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def select_locale() -> str:
    """The interface's locale: the user's language (My account), else the browser's (Accept-Language),
    else RELANCE_LOCALE. Outside a request (the worker), RELANCE_LOCALE unless a job forces one."""
    default = current_app.config["BABEL_LOCALE"]
    if not has_request_context():
        return default
    language = current_user.language if current_user.is_authenticated else None
    return i18n.locale_for(language or request.accept_languages.best_match(LANGUAGES), default)


def current_locale() -> str:
    """The locale of this request (or of a forced one), as Babel's formatters take it. Read straight from
    Flask-Babel's state (g._flask_babel) once it knows it: a page asks for it at every amount and date."""
    try:
        state = g.get("_flask_babel")
    except RuntimeError:  # no app context: a script, a test of the domain alone
        state = None
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        locale = get_locale()
        if locale is None:
            return current_app.config["BABEL_LOCALE"] if has_app_context() else "en_GB"
        state = g.get("_flask_babel")
    named = getattr(state, "relance_locale_name", None)
    if named is not None and named[0] is locale:  # the same Locale object: its name is known
        return named[1]
    name = str(locale)
    if state is not None:
        state.relance_locale_name = (locale, name)
    return name

# The compiled catalogue of each locale, as Flask-Babel loads it once per process (its own cache is keyed the
# same way): gettext in a template is then one dictionary read instead of Flask-Babel's walk through g.
_TRANSLATIONS: dict = {}


def current_translations():
    locale = current_locale()
    try:
        return _TRANSLATIONS[locale]
    except KeyError:
        translations = get_translations()
        if has_request_context() or has_app_context():
            _TRANSLATIONS[locale] = translations
        return translations


def plain_amount(cents) -> str:
    """An amount as a form field holds it, for the user to change: 1234.56 / 1234,56 (no grouping,
    the reader's decimal mark; parse_amount reads both)."""
    return plain(cents).replace(".", get_decimal_symbol(current_locale()))


def _number(value) -> str:
    return format_decimal(value, locale=current_locale())


def _date(value: date | datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    return _formatted_date(value, fmt, current_locale())


@lru_cache(maxsize=8192)
def _formatted_date(value: date | datetime, fmt: str, locale: str) -> str:
    # Tables show the same few hundred dates over and over; Babel's pattern work is done once each.
    if isinstance(value, datetime):
        return format_datetime(value, fmt, locale=locale)
    return format_date(value, fmt, locale=locale)


def _error_response(status: int, title: str, message: str):
    template = "errors/_message.html" if request.htmx else "errors/error.html"
    response = current_app.make_response(
        (render_template(template, status=status, title=title, message=message), status)
    )
    response.vary.add("HX-Request")
    return response


def _error_title(code: int) -> str | None:
    """The title of an error page, in the reader's language (None: Werkzeug's name of the code)."""
    titles = {
        400: _("Bad Request"), 403: _("Not allowed"), 404: _("Not found"), 405: _("Not allowed"),
        408: _("Request Timeout"), 413: _("File too large"), 429: _("Too Many Requests"),
        500: _("Internal Server Error"), 503: _("Service Unavailable"),
    }
    return titles.get(code)


def _default_description(code: int) -> str | None:
    """Werkzeug's sentence for an error no view described, in the reader's language."""
    descriptions = {
        400: _("The browser (or proxy) sent a request that this server could not understand."),
        403: _("You don't have the permission to access the requested resource. It is either read-protected or "
               "not readable by the server."),
        404: _("The requested URL was not found on the server. If you entered the URL manually please check your "
               "spelling and try again."),
        405: _("The method is not allowed for the requested URL."),
        408: _("The server closed the network connection because the browser didn't finish the request within the "
               "specified time."),
        413: _("The data value transmitted exceeds the capacity limit."),
        429: _("This user has exceeded an allotted request count. Try again later."),
        500: _("The server encountered an internal error and was unable to complete your request. Either the "
               "server is overloaded or there is an error in the application."),
        503: _("The server is temporarily unable to service your request due to maintenance downtime or capacity "
               "problems. Please try again later."),
    }
    return descriptions.get(code)


def install_web_layer(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def _unauthorized():
        if request.htmx:
            # A page whose login ended (logged out elsewhere, deactivated) would swap the login form
            # into itself: the browser goes to the login page instead, and back to that page after.
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = page.path + (f"?{page.query}" if page.query else "") if page.path else None
            return "", 401, {"HX-Redirect": url_for(login_manager.login_view, next=back)}
        flash(str(login_manager.login_message), login_manager.login_message_category)  # the session keeps a str
        return redirect(url_for(login_manager.login_view, next=request.full_path.rstrip("?")))

    @login_manager.user_loader
    def load_user(session_token: str):
        # The id in the session and the remember cookie is a login's token (domain.users): a
        # closed login or a deactivated user is refused here, on the next request.
        return user_for_session(db.session, session_token)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        return response

    # A page formats hundreds of amounts and dates: the reader's locale is looked up once per render (here)
    # and read from the template's context by the filters below; a template rendered without Flask's
    # render_template falls back to the lookup.
    @app.context_processor
    def _reader():
        return {"reader_locale": current_locale()}

    def _locale_of(context) -> str:
        return context.get("reader_locale") or current_locale()

    # gettext in templates, newstyle (the string is always a format string; values escaped in HTML). Jinja's own
    # wrappers take the whole context, and a call inside a loop or a block then copies that context first
    # (Context.derived: ~40 copies per list page); these take only the evaluation context (autoescape or not).
    def _formatted(eval_ctx, text: str, variables: dict) -> str:
        if not variables and "%" not in text:  # nothing to format: as it is
            return Markup(text) if eval_ctx.autoescape else text
        if not eval_ctx.autoescape:
            return text % variables
        # What Markup's % does (each value escaped; numbers stay numbers for %d), without its wrapper objects.
        try:
            return Markup(text % {name: value if isinstance(value, Number) else escape(value)
                                  for name, value in variables.items()})
        except TypeError:  # a number given as text for %d: Markup's own way converts it
            return Markup(text) % variables

    @pass_eval_context
    def gettext(eval_ctx, string, /, **variables):  # positional only: a value may be called num, context…
        return _formatted(eval_ctx, current_translations().ugettext(string), variables)

    @pass_eval_context
    def ngettext(eval_ctx, singular, plural, n, /, **variables):
        variables.setdefault("num", n)
        return _formatted(eval_ctx, current_translations().ungettext(singular, plural, n), variables)

    @pass_eval_context
    def pgettext(eval_ctx, context, string, /, **variables):
        variables.setdefault("context", context)
        return _formatted(eval_ctx, current_translations().upgettext(context, string), variables)

    @pass_eval_context
    def npgettext(eval_ctx, context, singular, plural, n, /, **variables):
        variables.setdefault("context", context)
        variables.setdefault("num", n)
        return _formatted(eval_ctx, current_translations().unpgettext(context, singular, plural, n), variables)

    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, pgettext=pgettext,
                                 npgettext=npgettext)
    app.jinja_env.newstyle_gettext = True  # {% trans %} blocks call the functions above with their values

    @pass_context
    def money(context, cents, currency="EUR", blank_zero=False):
        return format_money(cents, currency, _locale_of(context), blank_zero)

    @pass_context
    def day(context, value, fmt="short"):
        return "" if value is None else _formatted_date(value, fmt, _locale_of(context))

    def language_name(code: str | None) -> str:
        """A customer's language code as the reader names it: fr → French / Français."""
        try:
            name = Locale.parse(code).get_display_name(current_locale()) if code else None
        except (ValueError, TypeError, UnknownLocaleError):
            name = None
        return (name[:1].upper() + name[1:]) if name else (code or "")

    app.jinja_env.filters.update(money=money, number=_number, day=day, plain_amount=plain_amount,
                                 language_name=language_name)
    app.jinja_env.filters["role_label"] = lambda role: ROLE_LABELS.get(role, role)  # admin → Admin / Administrateur
    app.jinja_env.globals["amount_example"] = lambda: plain_amount(123456)  # a placeholder: 1234.56 / 1234,56
    app.jinja_env.filters["iban"] = iban_numbers.format  # FR76 3000 6000 …: in groups of four

    def percent_bp(basis_points) -> str:
        """A rate kept in basis points, as the reader writes it: 1215 → "12.15 %" / "12,15 %"."""
        return "" if basis_points is None else f"{format_decimal(basis_points / 100, '0.00', locale=current_locale())} %"

    app.jinja_env.filters["percent_bp"] = percent_bp
    app.jinja_env.trim_blocks = True
    # {% trans %} blocks are one line of words, however the template wraps them (as babel.cfg extracts them).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.lstrip_blocks = True

    # The account link of every table row, built without a url_for per row (a page has hundreds);
    # tests check it matches url_for("customers.account_status").
    account_prefix = app.config.get("APPLICATION_ROOT", "/").rstrip("/") + "/customers/"

    def account_path(account: str) -> str:
        return f"{request.script_root}{account_prefix}{quote(account, safe='')}"

    app.jinja_env.globals["account_path"] = account_path
    app.jinja_env.globals["icon"] = icon_for(app)

    # The links of an account status's entry rows (a dozen per row, tens of rows): each endpoint's URL
    # is built once per request with a stand-in id, then the row's id is put in its place — url_for
    # per link was a third of the page's time. Tests check it matches url_for.
    stand_in = "987654321987"

    def row_url(endpoint: str, row_id: int, key: str = "entry_id", **values) -> str:
        patterns = g.setdefault("row_url_patterns", {})
        cache_key = (endpoint, key, tuple(sorted(values.items())))
        pattern = patterns.get(cache_key)
        if pattern is None:  # the id's place: the last stand-in (an account made of digits comes before it)
            before, _, after = url_for(endpoint, **{key: int(stand_in)}, **values).rpartition(stand_in)
            pattern = patterns[cache_key] = (before, after)
        return f"{pattern[0]}{int(row_id)}{pattern[1]}"

    app.jinja_env.globals["row_url"] = row_url

    # The top bar's links are the same on every page of an area for a role and a language: rendered once
    # per process (they were a third of a bare page's time), not on each request. A part may read the
    # request's endpoint and blueprint, the user's role and the language — nothing of the session or the user.
    layout_parts: dict[tuple, Markup] = {}

    @pass_context
    def layout_part(context, name: str) -> Markup:
        key = (name, _locale_of(context), request.endpoint, request.blueprint, getattr(current_user, "role", None),
               request.script_root)
        part = layout_parts.get(key)
        if part is None:
            part = Markup(app.jinja_env.get_template(name).render(context.get_all()))
            if not app.jinja_env.auto_reload:  # a developer editing templates sees each edit
                if len(layout_parts) >= 4096:  # areas × roles × languages: a few hundred in practice
                    layout_parts.clear()
                layout_parts[key] = part
        return part

    app.jinja_env.globals["layout_part"] = layout_part

    # A list's line is drawn from its values (a NamedTuple the query read), the reader's language and a few
    # flags of what the reader may do: the same values give the same HTML. After a change the next view of
    # a list draws only the lines whose values changed; the others come from here.
    row_parts: dict[tuple, Markup] = {}
    row_parts_size = 20_000

    def row_once(template: str, row: tuple, **flags) -> Markup:
        locale = current_locale()
        key = (template, row, locale, request.script_root, *sorted(flags.items()))
        part = row_parts.get(key)
        if part is None:
            part = Markup(app.jinja_env.get_template(template).render(row=row, reader_locale=locale, **flags))
            if app.jinja_env.auto_reload:  # a developer editing templates sees each edit
                return part
            if len(row_parts) >= row_parts_size:
                row_parts.clear()
            row_parts[key] = part
        return part

    app.jinja_env.globals["row_once"] = row_once

    @app.context_processor
    def _globals():
        from domain import clock

        return {"today": clock.today(), "has_endpoint": lambda name: name in app.view_functions,
                "sending_problems": _sending_problems, "interface_language": i18n.language_of(current_locale())}

    def _sending_problems() -> list[str]:
        """For the banner of admins and finance: what keeps any reminder from going out."""
        from domain.settings import sending_problems

        if not current_user.is_authenticated or not current_user.can("edit"):
            return []
        return sending_problems(db.session, bool(app.config.get("SMTP_URL")))

    @app.errorhandler(FilterError)
    def _bad_filter(error):
        return _error_response(400, _("Bad filter"), str(error))

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _error_response(400, _("Session expired"), _("The form was out of date or the security token was "
                                                             "missing. Reload the page and try again."))

    @app.errorhandler(BackgroundUnavailable)
    def _background_unavailable(error: BackgroundUnavailable):
        # Redis is down or frozen: the action is refused at once, whatever view asked for the worker.
        db.session.rollback()
        response = _error_response(503, _("Not started"), str(error))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code and error.code < 400:
            return error
        code = error.code or 500
        title = _error_title(code) or error.name
        description = error.description
        if description == type(error).description:  # Werkzeug's own English sentence: ours, translated
            description = _default_description(code) or description
        return _error_response(code, title, description or title)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        app.logger.exception("Unhandled error on %s", request.path)
        db.session.rollback()
        return _error_response(500, _("Something went wrong"), _("The error has been logged; nothing was changed."))
