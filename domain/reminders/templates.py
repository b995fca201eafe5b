"""Reminder templates: the text of e-mails and letters per reminder level, channel and language,
rendered in a sandbox.

Levels are 0 (prevention: a courteous heads-up before the due date) and 1…5 (R1…R5); channels
are "email" and "letter"; languages are LANGUAGES, the customer's language picking the template
and English standing in for the others. The defaults ship in domain/reminders/default_templates; a saved
template (a ReminderTemplate row) overrides its default until "Reset to default" deletes it.

How the others use this module (no Flask needed):

    text = template_for(session, level, "email", customer.language)       # override or default
    context = reminder_context(session, customer, entries, sender=user)    # plain data only
    message = render(text, context)            # RenderedMessage(subject, body); TemplateError
    message.body_html                          # letters: the rendered text, escaped, as HTML

    errors = validate(subject, body, "fr")     # [] or [TemplateError(line, reason, field)]
    save_template(session, user, 1, "email", "fr", subject, body)  # TemplateValidationError
    reset_template(session, user, 1, "email", "fr")

Templates are Jinja, rendered by an ImmutableSandboxedEnvironment with StrictUndefined (an
unknown placeholder is an error) and no autoescaping (the text is plain; letters escape the
rendered text). A template only sees the plain data of its context (dicts, lists, strings,
numbers, Decimals, dates): no ORM object, no app, no config. On top of Jinja's sandbox:

- no method calls (filters do the work), no names or attributes starting with "_", no macros,
  call/filter/set blocks, includes, imports or recursive loops: refused when the template is
  parsed, with the line;
- every loop draws from one budget of MAX_LOOP_STEPS per render, and a render stops after
  MAX_RENDER_SECONDS; the output (subject or body) is capped at MAX_OUTPUT characters, and so is
  any string or list made by *, +, join or replace; huge powers and %-formatting are refused.
"""
from __future__ import annotations

import re
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Iterator

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, clock, i18n
from domain.i18n import _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, pgettext, psay, say
from domain.models import CREDIT_NOTE, MAX_LEVEL, CompanySettings, Customer, Entry, ReminderTemplate, User
from domain.money import format_amount
from domain.reminders.default_templates import DEFAULTS
from mail.html import flowed

PREVENTION = 0
LEVELS = tuple(range(PREVENTION, MAX_LEVEL + 1))
CHANNELS = ("email", "letter")
CHANNEL_LABELS = {"email": lazy_pgettext("reminder channel", "E-mail"),
                  "letter": lazy_pgettext("reminder channel", "Letter")}
LANGUAGES = ("en", "fr")
LANGUAGE_LABELS = {"en": _l("English"), "fr": _l("French")}
DEFAULT_LANGUAGE = "en"
# The locale that formats dates and amounts when the customer's language names no region.
FORMAT_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
# Dates as {{ entry.due_date }} prints them: unambiguous in English, 15/06/2026 in French.
DATE_FORMATS = {"en": "d MMM y", "fr": "dd/MM/y"}

MAX_OUTPUT = 100_000  # characters of a rendered subject or body, and of any string made on the way
MAX_LOOP_STEPS = 20_000  # loop iterations in one render, all loops together
MAX_RENDER_SECONDS = 2.0
MAX_SUBJECT_SOURCE = 500
MAX_BODY_SOURCE = 20_000


def level_name(level: int) -> str:
    """'Prevention', 'R1' … 'R5', in the reader's language."""
    return pgettext("reminder level", "Prevention") if level == PREVENTION else f"R{level}"


def level_said(level: int):
    """The level in a kept sentence (a Said's value): 'Prevention' translated when read, 'R1' … 'R5' as is."""
    return psay("reminder level", "Prevention") if level == PREVENTION else f"R{level}"


def _level_word(level: int) -> str:
    """The level as a template's {{ level_name }} gives it, the same in every language (a template may
    compare it): 'Prevention', 'R1' … 'R5'."""
    return "Prevention" if level == PREVENTION else f"R{level}"


def level_key(level: int) -> str:
    """The level as it appears in URLs: 'prevention', 'R1' … 'R5'."""
    return "prevention" if level == PREVENTION else f"R{level}"


def parse_level(text: str) -> int | None:
    """The level from 'prevention', 'R1' … 'R5' (or '0' … '5'); None when it is none of them."""
    text = (text or "").strip().upper()
    if text in ("PREVENTION", "0"):
        return PREVENTION
    text = text.removeprefix("R")
    if text.isdigit() and 1 <= int(text) <= MAX_LEVEL:
        return int(text)
    return None


def _primary(language: str | None) -> str:
    return (language or "").strip().replace("-", "_").split("_")[0].lower()


def template_language(language: str | None) -> str:
    """The language whose template a customer gets: theirs when Relance has it, else English."""
    primary = _primary(language)
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def format_locale(language: str | None) -> str:
    """The Babel locale formatting a message in `language` (fr → fr_FR, en → en_GB; a customer's
    own region is kept when it speaks the template's language, e.g. fr_CA or en_US)."""
    chosen = template_language(language)
    text = (language or "").strip().replace("-", "_")
    if _primary(text) == chosen and "_" in text:
        try:
            return str(Locale.parse(text))
        except (ValueError, UnknownLocaleError):
            pass
    return FORMAT_LOCALES.get(chosen, chosen)


# --- What templates are and what rendering gives -----------------------------------------------


class TemplateError(Exception):
    """What is wrong with a template: the field (subject or body), the line (1-based, None when
    it cannot be told) and the reason, in words a user can act on."""

    def __init__(self, line: int | None, reason: str, field: str = "body"):
        super().__init__(reason)
        self.line, self.reason, self.field = line, reason, field

    def __str__(self) -> str:
        name = _FIELD_NAMES[self.field] if self.field in _FIELD_NAMES else self.field.capitalize()
        if self.line:
            return _("%(field)s, line %(line)s: %(reason)s", field=name, line=self.line, reason=self.reason)
        return _("%(field)s: %(reason)s", field=name, reason=self.reason)

    def __repr__(self) -> str:
        return f"TemplateError(line={self.line!r}, reason={self.reason!r}, field={self.field!r})"


_FIELD_NAMES = {"subject": lazy_pgettext("template field", "Subject"), "body": lazy_pgettext("template field", "Body")}


class TemplateValidationError(ValueError):
    """A template refused at save time; `errors` lists every problem. Nothing was saved."""

    def __init__(self, errors: list[TemplateError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class TemplateText:
    """The text of one template, and whether it is a saved override (customised) or the default."""

    level: int
    channel: str
    language: str
    subject: str
    body: str
    customised: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def level_name(self) -> str:
        return level_name(self.level)


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered reminder: a one-line subject (for letters, the object line) and a plain-text
    body. `preformatted` holds blocks (the entries table) that body_html keeps as <pre>."""

    subject: str
    body: str
    preformatted: tuple[str, ...] = field(default=(), repr=False)

    @property
    def body_html(self) -> Markup:
        return text_to_html(self.body, self.preformatted)


def text_to_html(text: str, preformatted: Iterable[str] = ()) -> Markup:
    """Plain text as HTML for a letter: every character escaped, paragraphs at blank lines, lines the
    template wrapped by hand flowing into one (short lines — a greeting, a signature — keep their
    break, mail.html.flowed); a paragraph that is one of `preformatted` (the entries table) becomes <pre>."""
    blocks = {block.strip("\n") for block in preformatted if block and block.strip()}
    parts = []
    for paragraph in re.split(r"\n[ \t]*\n", (text or "").strip("\n")):
        if not paragraph.strip():
            continue
        if paragraph.strip("\n") in blocks:
            parts.append(Markup('<pre class="entries">{}</pre>').format(paragraph))
        else:
            parts.append(Markup("<p>{}</p>").format(Markup(flowed(paragraph))))
    return Markup("\n").join(parts)


# --- The sandbox -------------------------------------------------------------------------------


class _LimitReached(SecurityError):
    """A render went past one of the limits (loops, time, size)."""


@dataclass
class _RenderState:
    locale: str
    language: str
    deadline: float
    steps_left: int = MAX_LOOP_STEPS

    def step(self) -> None:
        self.steps_left -= 1
        if self.steps_left < 0:
            raise _LimitReached(_("the loops run more than %(steps)s times in all", steps=format(MAX_LOOP_STEPS, ",")))
        if self.steps_left % 256 == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise _LimitReached(_("rendering takes longer than %(seconds)s seconds", seconds=format(MAX_RENDER_SECONDS, "g")))


_STATE: ContextVar[_RenderState | None] = ContextVar("reminder_template_render", default=None)


def _state() -> _RenderState:
    state = _STATE.get()
    if state is None:  # only render() runs templates; this is a fallback for a stray call
        return _RenderState(FORMAT_LOCALES[DEFAULT_LANGUAGE], DEFAULT_LANGUAGE, time.monotonic() + MAX_RENDER_SECONDS)
    return state


def _too_long(size: int) -> None:
    if size > MAX_OUTPUT:
        raise _LimitReached(_("this would make a text of %(size)s characters (at most %(most)s)", size=format(size, ","),
                              most=format(MAX_OUTPUT, ",")))


def _loop_steps(iterable: Iterable) -> Iterator:
    """Wrapped around the iterable of every {% for %}: each step draws from the render's budget."""
    state = _state()
    for item in iterable:
        state.step()
        yield item


def _money(value: Any, currency: str = "EUR") -> str:
    """{{ amount|money(currency) }}: 1 234,56 € in French, €1,234.56 in English."""
    if value is None or value == "":
        return ""
    return format_amount(Decimal(str(value)), str(currency), _state().locale)


def _format_date(value: Any, format: str | None = None) -> str:
    """{{ day|date }} (15/06/2026 in French, 15 Jun 2026 in English), or a named Babel format:
    |date('long') gives 15 juin 2026."""
    if value is None or value == "":
        return ""
    if not isinstance(value, date):
        return str(value)
    if isinstance(value, datetime):
        value = value.date()
    state = _state()
    return format_date(value, format or DATE_FORMATS.get(state.language, "medium"), locale=state.locale)


def _number(value: Any) -> str:
    """{{ value|number }}: grouped and with the decimal mark of the customer's language."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(str(value)), locale=_state().locale, decimal_quantization=False)


def _join(value: Iterable, separator: str = "") -> str:
    items = [str(item) for item in value]
    _too_long(sum(map(len, items)) + len(str(separator)) * max(0, len(items) - 1))
    return str(separator).join(items)


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(value), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if count is not None:
        times = min(times, max(0, int(count)))
    _too_long(len(text) + times * (len(new) - len(old)))
    return text.replace(old, new, -1 if count is None else max(0, int(count)))


def _finalize(value: Any) -> Any:
    """How {{ … }} prints a value: nothing for None, dates and Decimals in the customer's language."""
    if value is None:
        return ""
    if isinstance(value, date):
        return _format_date(value)
    if isinstance(value, Decimal):
        return _number(value)
    return value


# Jinja's own filters that cannot be made to produce huge output or reach anything.
_SAFE_JINJA_FILTERS = ("abs", "capitalize", "count", "d", "default", "first", "float", "int", "last",
                       "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "round",
                       "select", "selectattr", "sort", "string", "sum", "title", "trim", "truncate",
                       "unique", "upper", "wordcount", "wordwrap")
FILTER_NAMES = ("money", "date", "number", "join", "replace", *_SAFE_JINJA_FILTERS)
_LOOP_FILTER = "_loop_steps"
# Blocks a reminder does not need and that could hide work from the limits.
_REFUSED_NODES = {
    nodes.Macro: _l("macros are not allowed in reminder templates"),
    nodes.CallBlock: _l("call blocks are not allowed in reminder templates"),
    nodes.FilterBlock: _l("filter blocks are not allowed: use a filter on a placeholder, e.g. {{ customer.name|upper }}"),
    nodes.AssignBlock: _l("{% set %}…{% endset %} blocks are not allowed: use {% set name = … %}"),
    nodes.Include: _l("a reminder template cannot include other templates"),
    nodes.Import: _l("a reminder template cannot import other templates"),
    nodes.FromImport: _l("a reminder template cannot import other templates"),
    nodes.Extends: _l("a reminder template cannot extend other templates"),
}
_HIDDEN_NAMES = {"self", "caller", "varargs", "kwargs"}


class _ReminderSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        _check_tree(tree, name, filename)
        return tree

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        allowed = __obj is safe_range or (
            isinstance(getattr(__obj, "__self__", None), LoopContext)
            and getattr(__obj, "__name__", "") in ("cycle", "changed"))
        if not allowed:
            what = getattr(__obj, "__name__", type(__obj).__name__)
            raise SecurityError(_("calling %(what)s() is not allowed in a reminder template: use filters, "
                                  "e.g. {{ customer.name|upper }}", what=what))
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context, operator, left, right):
        if operator == "%":
            if isinstance(left, str):
                raise SecurityError(_("%(sign)s-formatting is not allowed in a reminder template: use ~ and filters",
                                      sign="%"))
            return left % right
        if operator == "**":
            if isinstance(right, (int, float, Decimal)) and abs(right) > 100:
                raise SecurityError(_("powers above 100 are not allowed in a reminder template"))
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * abs(right) > 10_000:
                raise SecurityError(_("this power is too large for a reminder template"))
            return left ** right
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    _too_long(len(sequence) * times)
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 10_000:
                raise SecurityError(_("this product is too large for a reminder template"))
            return left * right
        if operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _too_long(len(left) + len(right))
            return left + right
        return super().call_binop(context, operator, left, right)


def _check_tree(tree: nodes.Template, name: str | None, filename: str | None) -> None:
    """Refuse what a reminder template must not do, and put every loop on the render's budget."""
    for node in list(tree.find_all(nodes.Node)):
        problem = _REFUSED_NODES.get(type(node))
        if problem is None and isinstance(node, nodes.For) and node.recursive:
            problem = _("recursive loops are not allowed in reminder templates")
        if problem is None and isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            problem = _("'%(name)s' is not a placeholder: names starting with _ are not allowed", name=node.attr)
        if (problem is None and isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_")):
            problem = _("'%(name)s' is not a placeholder: names starting with _ are not allowed", name=node.arg.value)
        if (problem is None and isinstance(node, nodes.Filter)
                and any(isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_")
                        for arg in [*node.args, *(keyword.value for keyword in node.kwargs)])):
            problem = _("names starting with _ are not allowed")
        if problem is None and isinstance(node, nodes.Name) and (node.name in _HIDDEN_NAMES or node.name.startswith("_")):
            problem = _("'%(name)s' is not a placeholder", name=node.name)
        if problem:
            raise TemplateSyntaxError(str(problem), node.lineno, name, filename)
        if isinstance(node, nodes.For):
            node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)


def _environment() -> _ReminderSandbox:
    env = _ReminderSandbox(undefined=StrictUndefined, autoescape=False, finalize=_finalize,
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals = {"range": safe_range}
    env.filters = {name: JINJA_FILTERS[name] for name in _SAFE_JINJA_FILTERS}
    env.filters.update(money=_money, date=_format_date, number=_number, join=_join, replace=_replace)
    env.filters[_LOOP_FILTER] = _loop_steps
    return env


_env = _environment()


@lru_cache(maxsize=256)
def _compiled(source: str):
    return _env.from_string(source)


def _template_line(error: BaseException) -> int | None:
    """The template line an error came from: Jinja rewrites tracebacks to show template lines."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == "<template>"]
    return lines[-1] if lines else None


def _runtime_reason(error: BaseException) -> str:
    if isinstance(error, UndefinedError):
        missing = re.match(r"^'[\w ]+' has no attribute '(.+)'$", error.message or "")
        if missing:
            return _("unknown placeholder '%(name)s': see the list of placeholders", name=missing.group(1))
        return _("unknown placeholder: %(problem)s", problem=error.message)
    if isinstance(error, _LimitReached):
        return _("too much work: %(problem)s", problem=error)
    if isinstance(error, SecurityError):
        return _("not allowed: %(problem)s", problem=error)
    if isinstance(error, OverflowError):
        return _("not allowed: %(problem)s", problem=error)
    if isinstance(error, RecursionError):
        return _("the template goes around in circles")
    if isinstance(error, MemoryError):
        return _("the template needs too much memory")
    return _("the template fails: %(error)s: %(problem)s", error=type(error).__name__, problem=error)


def _render_field(source: str, context: dict, field_name: str, state: _RenderState) -> str:
    try:
        template = _compiled(source)
    except TemplateSyntaxError as error:
        raise TemplateError(error.lineno, error.message or _("syntax error"), field_name) from None
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise _LimitReached(_("the text would be longer than %(most)s characters", most=format(MAX_OUTPUT, ",")))
            state.check_time()
            chunks.append(chunk)
    except Exception as error:  # anything a template can throw becomes a TemplateError with its line
        raise TemplateError(_template_line(error), _runtime_reason(error), field_name) from None
    return "".join(chunks)


# --- Context: the data a template sees ---------------------------------------------------------

_PLAIN_SCALARS = (str, int, float, Decimal, date, type(None))


def _ensure_plain(value: Any, path: str = "context") -> None:
    """A template sees only plain data: a stray ORM object (or app, config…) is a programming error."""
    if isinstance(value, _PLAIN_SCALARS):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a key that is not a string: {key!r}")
            _ensure_plain(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _ensure_plain(item, f"{path}[{index}]")
        return
    raise TypeError(f"{path} is a {type(value).__name__}: a reminder template gets plain data only")


def render(template: TemplateText, context: dict) -> RenderedMessage:
    """Render a template's subject and body with `context` (from reminder_context or
    sample_context). Raises TemplateError(line, reason, field) when the template is broken, asks
    for a placeholder the context lacks, tries to reach anything outside it, or goes past the
    limits. The subject comes out on one line; the body without surrounding blank lines."""
    _ensure_plain(context)
    language = template_language(context.get("language") or template.language)
    state = _RenderState(locale=str(context.get("locale") or format_locale(language)), language=language,
                         deadline=time.monotonic() + MAX_RENDER_SECONDS)
    token = _STATE.set(state)
    try:
        subject = _render_field(template.subject, context, "subject", state)
        body = _render_field(template.body, context, "body", state)
    finally:
        _STATE.reset(token)
    table = context.get("entries_table")
    return RenderedMessage(subject=" ".join(subject.split()), body=body.strip("\n").rstrip(),
                           preformatted=(table,) if isinstance(table, str) and table else ())


def _cents(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


def _entries_table(entries: list[dict], state: _RenderState) -> str:
    """The entries as a plain-text table, columns aligned, amounts right-aligned. The days
    overdue column is left out when nothing is overdue (a prevention message). In the language
    being spoken: the customer's (build_context)."""
    if not entries:
        return _("(no open entries)")
    headings = (pgettext("entries table of a reminder", "Invoice"), pgettext("entries table of a reminder", "Issued"),
                pgettext("entries table of a reminder", "Due"), pgettext("entries table of a reminder", "Amount"),
                pgettext("entries table of a reminder", "Open"), pgettext("entries table of a reminder", "Days overdue"))
    credit = pgettext("entries table of a reminder", "credit note")
    with_days = any(entry["days_overdue"] for entry in entries)
    token = _STATE.set(state)
    try:
        rows = [[
            entry["number"] + (f" ({credit})" if entry["is_credit_note"] else ""),
            _format_date(entry["issue_date"]),
            _format_date(entry["due_date"]),
            _money(entry["amount"], entry["currency"]),
            _money(entry["open_amount"], entry["currency"]),
            str(entry["days_overdue"]) if entry["days_overdue"] else "",
        ] for entry in entries]
    finally:
        _STATE.reset(token)
    columns = 6 if with_days else 5
    table = [list(headings[:columns])] + [row[:columns] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(columns)]
    right = {3, 4, 5}

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                         for i, cell in enumerate(cells)).rstrip()

    return "\n".join([line(table[0]), line(["-" * w for w in widths])] + [line(row) for row in table[1:]])


def _and_list(parts: list[str]) -> str:
    """"€120.00 and US$250.00", in the language being spoken (the customer's)."""
    if len(parts) <= 1:
        return "".join(parts)
    return pgettext("a list of amounts", "%(first)s and %(last)s", first=", ".join(parts[:-1]), last=parts[-1])


def build_context(*, customer: dict, entries: list[dict], company: dict, sender: dict,
                  language: str | None, today: date | None = None, level: int | None = None) -> dict:
    """The context of a reminder from plain data. `entries` are dicts with number, is_credit_note,
    issue_date, due_date, amount_cents and open_cents (positive, as stored) and currency; the
    context carries them signed (a credit note reduces the balance), with days overdue, and adds
    the entries table and the totals per currency, formatted for `language`."""
    today = today or clock.today()
    chosen = template_language(language)
    locale = format_locale(language)
    state = _RenderState(locale, chosen, time.monotonic() + MAX_RENDER_SECONDS)
    rows = []
    totals: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        sign = -1 if entry.get("is_credit_note") else 1
        late = max(0, (today - entry["due_date"]).days)
        days = 0 if entry.get("is_credit_note") else late  # a credit note is never shown as overdue…
        row = {
            "number": str(entry["number"]),
            "is_credit_note": bool(entry.get("is_credit_note")),
            "issue_date": entry["issue_date"],
            "due_date": entry["due_date"],
            "amount": _cents(sign * entry["amount_cents"]),
            "open_amount": _cents(sign * entry["open_cents"]),
            "currency": str(entry.get("currency") or "EUR"),
            "days_overdue": days,
            "is_overdue": days > 0,
            "reminder_level": int(entry.get("reminder_level") or 0),
        }
        rows.append(row)
        total = totals.setdefault(row["currency"], {"open": Decimal("0.00"), "overdue": Decimal("0.00")})
        total["open"] += row["open_amount"]
        if late > 0:  # …but one past its date is netted against what is overdue, as before
            total["overdue"] += row["open_amount"]

    token = _STATE.set(state)
    try:
        open_parts = [_money(t["open"], currency) for currency, t in totals.items() if t["open"]]
        overdue_parts = [_money(t["overdue"], currency) for currency, t in totals.items() if t["overdue"]]
        zero = _money(Decimal("0.00"), next(iter(totals), "EUR"))
    finally:
        _STATE.reset(token)
    due_dates = [row["due_date"] for row in rows]
    with i18n.speaking(locale):  # the customer's words, whoever is logged in
        table, total_open, total_overdue = _entries_table(rows, state), _and_list(open_parts), _and_list(overdue_parts)
    return {
        "language": chosen,
        "locale": locale,
        "today": today,
        "level": level if level is not None else 0,
        "level_name": _level_word(level) if level is not None else "",
        "customer": customer,
        "company": company,
        "sender": sender,
        "entries": rows,
        "entries_table": table,
        "entry_count": len(rows),
        "overdue_count": sum(1 for row in rows if row["is_overdue"]),
        "earliest_due_date": min(due_dates) if due_dates else None,
        "max_days_overdue": max((row["days_overdue"] for row in rows), default=0),
        "total_open": total_open or zero,
        "total_overdue": total_overdue or zero,
        "totals": [{"currency": currency, "open": t["open"], "overdue": t["overdue"]} for currency, t in totals.items()],
    }


def _company_data(company: CompanySettings | None) -> dict:
    return {
        "name": (company.name if company else "") or "",
        "registration_number": (company.registration_number if company else "") or "",
        "address": (company.address if company else "") or "",
        "sender_email": (company.sender_email if company else "") or "",
    }


def reminder_context(session: Session, customer: Customer, entries: Iterable[Entry], sender: User | None = None,
                     company: CompanySettings | None = None, language: str | None = None, *,
                     level: int | None = None, today: date | None = None) -> dict:
    """The context of a real reminder to `customer` covering `entries`, as plain data.

    sender: the user sending it (None for an automatic run: the company signs, from its sender
    address). company: the company settings (None reads them). language: the language to format
    for (None: the customer's). The entries are listed by due date."""
    if company is None:
        from domain.settings import company as saved_company

        company = saved_company(session)
    company_data = _company_data(company)
    # Whom the reminder greets: the billing contact, else the first contact with a name.
    contact = customer.billing_contact
    if contact is None or not (contact.name or "").strip():
        contact = next((c for c in customer.contacts if (c.name or "").strip()), None)
    customer_data = {
        "name": customer.name or "",
        "account": customer.account or "",
        "registration_number": customer.registration_number or "",
        "address": customer.address or "",
        "contact_name": contact.name.strip() if contact else "",
        "email": (customer.reminder_emails or [""])[0],
        "language": customer.language or "",
    }
    if sender is not None:
        sender_data = {"name": sender.display_name, "email": sender.email}
    else:
        sender_data = {"name": company_data["name"], "email": company_data["sender_email"]}
    plain_entries = [{
        "number": entry.number, "is_credit_note": entry.kind == CREDIT_NOTE, "issue_date": entry.issue_date,
        "due_date": entry.due_date, "amount_cents": entry.amount_cents, "open_cents": entry.open_cents,
        "currency": entry.currency, "reminder_level": entry.reminder_level,
    } for entry in sorted(entries, key=lambda e: (e.due_date, e.id or 0))]
    return build_context(customer=customer_data, entries=plain_entries, company=company_data, sender=sender_data,
                         language=language or customer.language, today=today, level=level)


def sample_context(language: str | None = DEFAULT_LANGUAGE, today: date | None = None, level: int | None = None,
                   company: CompanySettings | None = None) -> dict:
    """A realistic context with a fictitious customer: two overdue invoices, a credit note and
    one invoice not yet due. Templates are tried on it before they are saved."""
    today = today or clock.today()
    company_data = _company_data(company)
    if not company_data["name"]:
        company_data.update(name="Acme SARL", registration_number="732829320",
                            address="1 rue de la Paix\n75002 Paris", sender_email="billing@acme.example")
    entries = [
        {"number": "INV-1001", "issue_date": today - timedelta(days=150), "due_date": today - timedelta(days=120),
         "amount_cents": 90010, "open_cents": 90010, "currency": "EUR", "reminder_level": 3},
        {"number": "INV-1002", "issue_date": today - timedelta(days=65), "due_date": today - timedelta(days=35),
         "amount_cents": 150000, "open_cents": 123456, "currency": "EUR", "reminder_level": 1},
        {"number": "CN-0007", "is_credit_note": True, "issue_date": today - timedelta(days=40),
         "due_date": today - timedelta(days=10), "amount_cents": 5000, "open_cents": 5000, "currency": "EUR"},
        {"number": "INV-1003", "issue_date": today - timedelta(days=20), "due_date": today + timedelta(days=10),
         "amount_cents": 48000, "open_cents": 48000, "currency": "EUR"},
    ]
    customer = {"name": "Bistro du Port", "account": "C001", "registration_number": "552100554",
                "address": "3 quai des Brumes\n13002 Marseille", "contact_name": "Marie Martin",
                "email": "compta@bistro-du-port.example", "language": template_language(language)}
    return build_context(customer=customer, entries=entries, company=company_data,
                         sender={"name": "Claire Dupont", "email": "claire.dupont@acme.example"},
                         language=language, today=today, level=level)


# What the editor lists: (placeholder, what it is).
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("customer.name", _l("Customer name")),
    ("customer.account", _l("Customer account")),
    ("customer.registration_number", _l("Customer registration number (SIREN)")),
    ("customer.address", _l("Customer address (several lines)")),
    ("customer.contact_name", _l("Name of the customer's first contact, empty if none")),
    ("customer.email", _l("Customer's first e-mail address")),
    ("company.name", _l("Your company's name")),
    ("company.registration_number", _l("Your company's registration number")),
    ("company.address", _l("Your company's address")),
    ("company.sender_email", _l("The address reminders are sent from")),
    ("sender.name", _l("Name of the user sending (the company for automatic runs)")),
    ("sender.email", _l("E-mail of the user sending")),
    ("entries_table", _l("The entries concerned as a ready-made table: number, dates, amounts, days overdue")),
    ("entries", _l("The entries, to loop over: {% for entry in entries %}…{% endfor %}; each has number, "
                   "issue_date, due_date, amount, open_amount, currency, days_overdue, is_overdue, is_credit_note")),
    ("total_open", _l("Total open amount, with currency (per currency when mixed)")),
    ("total_overdue", _l("Total overdue amount, with currency (per currency when mixed)")),
    ("totals", _l("Totals per currency, to loop over: currency, open, overdue")),
    ("entry_count", _l("Number of entries concerned")),
    ("overdue_count", _l("Number of overdue entries")),
    ("earliest_due_date", _l("The earliest due date among the entries")),
    ("max_days_overdue", _l("Days overdue of the oldest entry")),
    ("today", _l("Today's date")),
    ("level_name", _l("The reminder level: Prevention, R1 … R5")),
)
FILTER_HELP: tuple[tuple[str, str], ...] = (
    ("{{ entry.open_amount|money(entry.currency) }}", _l("An amount with its currency")),
    ("{{ entry.due_date|date }}", _l("A date in the customer's language; |date('long') spells the month")),
    ("{{ customer.name|upper }}", _l("Also: lower, title, capitalize, trim, default, join, replace, round…")),
)


# --- Reading, checking, saving -----------------------------------------------------------------


def check_key(level: int, channel: str, language: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"The reminder level must be 0 (prevention) to {MAX_LEVEL}, not {level!r}.")
    if channel not in CHANNELS:
        raise ValueError(f"The channel must be one of {', '.join(CHANNELS)}, not {channel!r}.")
    if language not in LANGUAGES:
        raise ValueError(f"Templates exist in {', '.join(LANGUAGES)}, not {language!r}.")


def default_template(level: int, channel: str, language: str) -> TemplateText:
    """The template shipped with the app (language falls back to English)."""
    language = template_language(language)
    check_key(level, channel, language)
    default = DEFAULTS[language][channel][level]
    return TemplateText(level, channel, language, default.subject, default.body, customised=False)


def _override(session: Session, level: int, channel: str, language: str) -> ReminderTemplate | None:
    return session.scalar(select(ReminderTemplate).where(
        ReminderTemplate.level == level, ReminderTemplate.channel == channel, ReminderTemplate.language == language))


def _from_row(row: ReminderTemplate) -> TemplateText:
    return TemplateText(row.level, row.channel, row.language, row.subject, row.body, customised=True,
                        updated_at=row.updated_at, updated_by=row.updated_by.display_name if row.updated_by else None)


def template_for(session: Session, level: int, channel: str, language: str | None) -> TemplateText:
    """The template a customer speaking `language` gets at `level` by `channel`: the saved
    override if any, else the default; in English when Relance has no template in their language."""
    language = template_language(language)
    check_key(level, channel, language)
    row = _override(session, level, channel, language)
    return _from_row(row) if row is not None else default_template(level, channel, language)


def all_templates(session: Session) -> dict[tuple[int, str, str], TemplateText]:
    """Every (level, channel, language), override or default, for the list of templates."""
    rows = {(r.level, r.channel, r.language): r for r in session.scalars(select(ReminderTemplate))}
    return {
        (level, channel, language): _from_row(rows[(level, channel, language)]) if (level, channel, language) in rows
        else default_template(level, channel, language)
        for level in LEVELS for channel in CHANNELS for language in LANGUAGES
    }


def clean_text(text: str | None) -> str:
    """Text from a form: Windows line ends made plain."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _static_problems(source: str, field_name: str, known: set[str]) -> TemplateError | None:
    """A syntax error, a refused construct or an unknown placeholder, found without rendering
    (so an unknown placeholder in a branch the sample does not take is found too)."""
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError as error:
        return TemplateError(error.lineno, error.message or _("syntax error"), field_name)
    try:
        unknown = meta.find_undeclared_variables(tree) - known
    except TemplateSyntaxError as error:  # an unknown filter or test, found when compiling
        return TemplateError(error.lineno, error.message or _("syntax error"), field_name)
    if unknown:
        names = [node for node in tree.find_all(nodes.Name) if node.name in unknown]
        first = min(names, key=lambda node: node.lineno) if names else None
        name = first.name if first else sorted(unknown)[0]
        return TemplateError(first.lineno if first else None,
                             _("unknown placeholder '%(name)s': see the list of placeholders", name=name), field_name)
    return None


def validate(subject: str, body: str, language: str | None = DEFAULT_LANGUAGE) -> list[TemplateError]:
    """Every problem that keeps a template from being saved, at most one per field, each with its
    line: syntax errors, unknown placeholders, refused constructs, and whatever a trial render on
    sample_context(language) raises (sandbox violations, limits). [] means it can be saved."""
    subject, body = clean_text(subject), clean_text(body)
    errors: list[TemplateError] = []
    context = sample_context(language)
    known = set(context) | set(_env.globals)
    for field_name, source, limit in (("subject", subject, MAX_SUBJECT_SOURCE), ("body", body, MAX_BODY_SOURCE)):
        if not source.strip():
            errors.append(TemplateError(None, _("the subject is empty") if field_name == "subject"
                                        else _("the body is empty"), field_name))
        elif len(source) > limit:
            sizes = {"size": i18n.number(len(source)), "most": i18n.number(limit)}
            errors.append(TemplateError(None, _("the subject is too long (%(size)s characters, at most %(most)s)", **sizes)
                                        if field_name == "subject" else
                                        _("the body is too long (%(size)s characters, at most %(most)s)", **sizes),
                                        field_name))
        elif "\n" in source.strip() and field_name == "subject":
            errors.append(TemplateError(2, _("the subject must be on one line"), field_name))
        else:
            problem = _static_problems(source, field_name, known)
            if problem:
                errors.append(problem)
    if errors:
        return errors
    try:
        message = render(TemplateText(PREVENTION, "email", template_language(language), subject, body), context)
    except TemplateError as error:
        return [error]
    if not message.subject:
        return [TemplateError(1, _("the subject comes out empty"), "subject")]
    return []


def save_template(session: Session, actor: User | None, level: int, channel: str, language: str,
                  subject: str, body: str) -> ReminderTemplate:
    """Save an override of the default, after validate(); raises TemplateValidationError (with
    every problem and its line) and saves nothing when the template is broken. The caller commits."""
    check_key(level, channel, language)
    subject, body = clean_text(subject).strip(), clean_text(body)
    errors = validate(subject, body, language)
    if errors:
        raise TemplateValidationError(errors)
    row = _override(session, level, channel, language)
    if row is None:
        row = ReminderTemplate(level=level, channel=channel, language=language)
        session.add(row)
    row.subject, row.body = subject, body
    row.updated_at, row.updated_by = clock.now(), actor
    values = {"level": level_said(level), "language": LANGUAGE_LABELS[language]}
    audit.record(session, actor, "reminder_template.saved",
                 say("%(level)s e-mail template (%(language)s) saved", **values) if channel == "email"
                 else say("%(level)s letter template (%(language)s) saved", **values))
    return row


def reset_template(session: Session, actor: User | None, level: int, channel: str, language: str) -> bool:
    """Delete the override so the default applies again; False when there was none. The caller commits."""
    check_key(level, channel, language)
    row = _override(session, level, channel, language)
    if row is None:
        return False
    session.delete(row)
    values = {"level": level_said(level), "language": LANGUAGE_LABELS[language]}
    audit.record(session, actor, "reminder_template.reset",
                 say("%(level)s e-mail template (%(language)s) reset to default", **values) if channel == "email"
                 else say("%(level)s letter template (%(language)s) reset to default", **values))
    return True


# --- The preview on a real customer ------------------------------------------------------------

PREVIEW_ENTRY_LIMIT = 50


def preview_customer(session: Session, account: str | None = None) -> Customer | None:
    """The customer a preview shows: the one with this account, or by default the customer of
    the oldest overdue entry (then of any open entry); None when there is none."""
    from domain.ledger.queries import find_customer

    if account and account.strip():
        return find_customer(session, account.strip())
    today = clock.today()
    for condition in (Entry.due_date < today, Entry.due_date >= today):
        customer_id = session.scalar(select(Entry.customer_id).where(Entry.is_open.is_(True), condition)
                                     .order_by(Entry.due_date, Entry.id).limit(1))
        if customer_id is not None:
            return session.get(Customer, customer_id)
    return None


def preview_entries(session: Session, customer: Customer, level: int) -> list[Entry]:
    """The open entries a reminder at `level` would typically cover: not yet due for a prevention
    message, overdue for R1…R5, all open entries when none fits."""
    today = clock.today()
    base = select(Entry).where(Entry.customer_id == customer.id, Entry.is_open.is_(True))
    fits = Entry.due_date >= today if level == PREVENTION else Entry.due_date < today
    entries = list(session.scalars(base.where(fits).order_by(Entry.due_date, Entry.id).limit(PREVIEW_ENTRY_LIMIT)))
    return entries or list(session.scalars(base.order_by(Entry.due_date, Entry.id).limit(PREVIEW_ENTRY_LIMIT)))
