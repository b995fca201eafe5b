"""Late-payment interest and the fixed recovery indemnity, computed, never invented.

France, Code de commerce L441-10: from the day after the due date, simple interest at the ECB's
main refinancing rate in force on 1 January (first half-year) or 1 July (second) plus 10 points,
never below three times the legal interest rate; or the rate the contract sets. D441-5: a fixed
indemnity of €40 per invoice paid late. A half-year whose rates nobody entered makes the interest
*unknown* (and says which half-year), never 0.

The amount that bears interest on a day is what is open today plus every payment received that day
or later: an amount that left the open balance without a dated payment (an import that lowered it)
bears none, so the figure can only be too low, never too high.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Iterable, NamedTuple

from babel.numbers import format_decimal
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from domain import audit, clock, i18n
from domain import settings as settings_rules
from domain.i18n import Joined, Money, Said, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, nsay, say
from domain.listing import whole_number
from domain.models import (CREDIT_NOTE_PAYMENT, INVOICE, ClaimedCharge, CompanySettings, Customer, CustomerSummary,
                           Entry, LateChargesTotal, Payment, ReferenceRate, User)
from domain.money import parse_amount

RATES_FILE = Path(__file__).with_name("reference_rates.csv")
NO_INDEMNITY = lazy_pgettext("indemnity", "none")
LEGAL, CONTRACTUAL = "legal", "contractual"
BASES = {LEGAL: _l("Legal rate (ECB + 10 points, at least 3 × the legal interest rate)"),
         CONTRACTUAL: _l("Contractual rate")}
DEFAULT_INDEMNITIES = {"EUR": 4000}  # article D441-5
MARGIN_BP = 1000  # the 10 points over the ECB rate
DAYS_IN_YEAR = 365
DENOMINATOR = 10000 * DAYS_IN_YEAR  # basis points × days in a year


class RateError(ValueError):
    """What is wrong with a rate or the late-payment settings, field by field; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class HalfYear(NamedTuple):
    starts_on: date
    ecb_bp: int
    legal_bp: int
    set_by: str | None  # None: shipped with Relance

    @property
    def late_payment_bp(self) -> int:
        """The legal late-payment rate of this half-year."""
        return max(self.ecb_bp + MARGIN_BP, 3 * self.legal_bp)

    @property
    def floor_applies(self) -> bool:
        return 3 * self.legal_bp > self.ecb_bp + MARGIN_BP


def half_year_of(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def next_half_year(start: date) -> date:
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def half_year(start: date) -> Said:
    if start.month == 1:
        return say("1st half of %(year)s", year=start.year)
    return say("2nd half of %(year)s", year=start.year)


def half_year_label(start: date) -> str:
    return str(half_year(start))


def percent_to_bp(text: str, label: str, highest: int = 10000) -> int:
    """ "10", "2,15", "2.15 %" → basis points; a clear message for anything else."""
    cleaned = (text or "").strip().rstrip("%").strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise RateError({label: _("%(value)s is not a percentage like 2.15.", value=repr(text))}) from None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= highest:
        raise RateError({label: _("%(value)s: a percentage from 0 to %(highest)s, with at most 2 decimals.",
                                  value=repr(text), highest=highest // 100)})
    return int(bp)


def _rate(bp: int) -> Decimal:
    """A rate in a history line: 12.15, written 12,15 to a French reader."""
    return Decimal(bp).scaleb(-2).quantize(Decimal("0.01"))


def bp_to_percent(bp: int | None) -> str:
    return "" if bp is None else str(Decimal(bp).scaleb(-2).quantize(Decimal("0.01")))


@cache
def shipped_rates() -> dict[date, HalfYear]:
    """The half-years shipped with Relance (reference_rates.csv)."""
    lines = (line for line in RATES_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    rates = {}
    for row in csv.DictReader(lines):
        start = date.fromisoformat(row["starts_on"])
        rates[start] = HalfYear(start, percent_to_bp(row["ecb_rate"], "ecb"), percent_to_bp(row["legal_rate"], "legal"),
                                None)
    return rates


def reference_rates(session: Session) -> dict[date, HalfYear]:
    """Every known half-year: the shipped ones, overridden and extended by what an admin set."""
    rates = dict(shipped_rates())
    for row in session.scalars(select(ReferenceRate)):
        rates[row.starts_on] = HalfYear(row.starts_on, row.ecb_rate_bp, row.legal_rate_bp,
                                        row.updated_by.display_name if row.updated_by else _("an admin"))
    return dict(sorted(rates.items()))


def set_half_year(session: Session, actor: User, starts_on: str, ecb: str, legal: str) -> HalfYear:
    """Add or correct the rates of a half-year (starting 1 January or 1 July)."""
    errors = {}
    try:
        start = date.fromisoformat((starts_on or "").strip())
        if start.day != 1 or start.month not in (1, 7):
            raise ValueError
    except ValueError:
        errors["starts_on"] = _("A half-year starts on 1 January or 1 July.")
        start = None
    values = {}
    for name, text, label in (("ecb", ecb, _("ECB main refinancing rate")), ("legal", legal, _("Legal interest rate"))):
        try:
            values[name] = percent_to_bp(text, name, highest=5000)
        except RateError as problem:
            errors[name] = _("%(label)s: %(problem)s", label=label, problem=problem.errors[name])
    if errors:
        raise RateError(errors)
    row = session.get(ReferenceRate, start)
    before = reference_rates(session).get(start)
    if row is None:
        row = ReferenceRate(starts_on=start)
        session.add(row)
    row.ecb_rate_bp, row.legal_rate_bp, row.updated_by_id = values["ecb"], values["legal"], actor.id
    rates = {"half_year": half_year(start), "ecb": _rate(values["ecb"]), "legal": _rate(values["legal"])}
    if before:
        detail = say("Rates of the %(half_year)s: ECB %(ecb)s %%, legal interest %(legal)s %% (was %(ecb_before)s %% "
                     "and %(legal_before)s %%).", ecb_before=_rate(before.ecb_bp),
                     legal_before=_rate(before.legal_bp), **rates)
    else:
        detail = say("Rates of the %(half_year)s: ECB %(ecb)s %%, legal interest %(legal)s %%.", **rates)
    audit.record(session, actor, "settings.reference_rates", detail)
    return HalfYear(start, values["ecb"], values["legal"], actor.display_name)


# --- What the company set ------------------------------------------------------------------------

@dataclass(frozen=True)
class Terms:
    """How the company charges late payment, with the rates known: what every computation reads."""

    basis: str = LEGAL
    contractual_bp: int | None = None
    indemnities: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_INDEMNITIES))
    rates: dict[date, HalfYear] = field(default_factory=dict)
    notice_days: int = 8

    def annual_bp(self, half_year: date) -> int | None:
        """The rate of a half-year; a contractual rate never below 3 × the legal interest rate (L441-10):
        unknown, like the legal one, without the half-year's rates."""
        known = self.rates.get(half_year)
        if known is None:
            return None
        if self.basis == CONTRACTUAL:
            return max(self.contractual_bp or 0, 3 * known.legal_bp)
        return known.late_payment_bp

    def missing_half_years(self, through: date, since: date | None = None) -> list[date]:
        """The half-years up to `through` (since the earliest shipped) a computation lacks."""
        if not self.rates:
            return []
        start = half_year_of(since) if since else min(self.rates)
        missing = []
        while start <= through:
            if start not in self.rates:
                missing.append(start)
            start = next_half_year(start)
        return missing

    def rate_label(self, day: date) -> str:
        bp = self.annual_bp(half_year_of(day))
        if bp is None:
            return _("unknown")
        return f"{format_decimal(Decimal(bp) / 100, '0.00', locale=i18n.current_locale())} %"  # 12.15 % / 12,15 %


def terms(session: Session) -> Terms:
    company = settings_rules.company(session)
    return terms_of(company, reference_rates(session))


def terms_of(company: CompanySettings | None, rates: dict[date, HalfYear]) -> Terms:
    if company is None:
        return Terms(rates=rates)
    indemnities = company.recovery_indemnities
    return Terms(basis=company.late_payment_basis or LEGAL, contractual_bp=company.contractual_rate_bp,
                 indemnities=dict(DEFAULT_INDEMNITIES if indemnities is None else indemnities),
                 rates=rates, notice_days=company.notice_days or 8)


def save_terms(session: Session, actor: User, *, basis: str, contractual_rate: str,
               indemnities: dict[str, str], notice_days: str) -> CompanySettings:
    """Check every field, then save them all or none."""
    errors: dict[str, str] = {}
    if basis not in BASES:
        errors["basis"] = _("Choose the legal rate or a contractual rate.")
    contractual_bp = None
    if (contractual_rate or "").strip():
        try:
            contractual_bp = percent_to_bp(contractual_rate, "contractual_rate", highest=5000)
        except RateError as problem:
            errors.update(problem.errors)
    elif basis == CONTRACTUAL:
        errors["contractual_rate"] = _("A contractual basis needs its annual rate, e.g. 12.")
    amounts = {}
    for currency, text in indemnities.items():
        if not (text or "").strip():
            continue  # no indemnity in that currency: computed as unknown, and said
        try:
            amounts[currency] = parse_amount(text)
        except ValueError as problem:
            errors[f"indemnity_{currency}"] = _("%(label)s: %(problem)s", label=currency, problem=problem)
            continue
    days = (notice_days or "").strip()
    if not 1 <= (whole_number(days) or 0) <= 90:
        errors["notice_days"] = _("The payment deadline of a formal notice: a number of days from 1 to 90.")
    if errors:
        raise RateError(errors)
    company = settings_rules.company(session)
    if company is None:
        raise RateError({"basis": _("Fill in the company first (Settings → Company): its notices are signed by it.")})
    before = terms_of(company, {})
    company.late_payment_basis, company.contractual_rate_bp = basis, contractual_bp
    company.recovery_indemnities, company.notice_days = amounts, int(days)
    after = terms_of(company, {})
    if before != after:
        indemnity = (Joined([Money(cents, currency) for currency, cents in sorted(amounts.items())], ", ") if amounts
                     else NO_INDEMNITY)
        if basis == CONTRACTUAL:
            detail = nsay("Late payment: contractual rate %(rate)s %%; indemnity %(indemnity)s; formal notice "
                          "deadline %(num)s day.", "Late payment: contractual rate %(rate)s %%; indemnity "
                          "%(indemnity)s; formal notice deadline %(num)s days.", int(days),
                          rate=_rate(contractual_bp), indemnity=indemnity)
        else:
            detail = nsay("Late payment: %(basis)s; indemnity %(indemnity)s; formal notice deadline %(num)s day.",
                          "Late payment: %(basis)s; indemnity %(indemnity)s; formal notice deadline %(num)s days.",
                          int(days), basis=BASES[LEGAL], indemnity=indemnity)
        audit.record(session, actor, "settings.late_payment", detail)
    return company


# --- The computation ------------------------------------------------------------------------------

class Charges(NamedTuple):
    """What an invoice carries for being paid late, on a day."""

    entry_id: int
    number: str
    due_date: date
    currency: str
    principal_cents: int          # open today
    days_late: int
    interest_cents: int | None    # None: a half-year's rate is missing (see `missing`)
    indemnity_cents: int | None   # None: no indemnity set for this currency
    missing: tuple[date, ...] = ()

    @property
    def known(self) -> bool:
        return self.interest_cents is not None and self.indemnity_cents is not None

    @property
    def charges_cents(self) -> int | None:
        return self.interest_cents + self.indemnity_cents if self.known else None


def interest_cents(open_cents: int, payments: Iterable[tuple[date, int]], due_date: date, through: date,
                   terms: Terms, since: date | None = None) -> tuple[int | None, tuple[date, ...]]:
    """Simple interest from the day after `due_date` (or from `since`, the day after what was
    already claimed) to `through` (both included), segment by segment as payments lower the amount
    and half-years change the rate, rounded to the cent (half up) once, at the end. (None, the
    half-years without a rate) when a rate is missing. Integer arithmetic: every segment shares the
    denominator 10,000 × 365, so the sum is exact."""
    first = max(due_date + timedelta(days=1), since or due_date)
    if through < first:
        return 0, ()
    later = sorted((paid_on, cents) for paid_on, cents in payments if paid_on > due_date) if payments else []
    # The amount owed on a day: open today + what was paid on that day or after.
    owed = open_cents + sum(cents for _, cents in later)
    breaks = {paid_on + timedelta(days=1) for paid_on, _ in later if first <= paid_on < through}
    half = next_half_year(half_year_of(first))
    while half <= through:
        breaks.add(half)
        half = next_half_year(half)
    numerator, missing, start = 0, [], first
    paid = iter(later)
    pending = next(paid, None)
    for end in sorted(breaks) + [through + timedelta(days=1)]:
        while pending is not None and pending[0] < start:
            owed -= pending[1]
            pending = next(paid, None)
        if owed > 0:
            rate = terms.annual_bp(half_year_of(start))
            if rate is None:
                if half_year_of(start) not in missing:
                    missing.append(half_year_of(start))
            else:
                numerator += owed * rate * (end - start).days
        start = end
    if missing:
        return None, tuple(missing)
    return (2 * numerator + DENOMINATOR) // (2 * DENOMINATOR), ()  # half up; never negative


def charges_of(entry: Entry, payments: Iterable[tuple[date, int]], today: date, terms: Terms,
               claimed_through: date | None = None, indemnity_claimed: bool = False) -> Charges | None:
    """An invoice's late-payment charges on `today` not claimed yet: the interest since the last day a
    formal notice claimed (`claimed_through`), the indemnity unless claimed; None when it carries none
    (not late, a credit note)."""
    if entry.kind != INVOICE or entry.cancelled_at is not None or entry.due_date >= today:
        return None
    since = claimed_through + timedelta(days=1) if claimed_through else None
    interest, missing = interest_cents(entry.open_cents, payments, entry.due_date, today, terms, since=since)
    return Charges(entry.id, entry.number, entry.due_date, entry.currency, entry.open_cents,
                   (today - entry.due_date).days, interest,
                   0 if indemnity_claimed else terms.indemnities.get(entry.currency), missing)


def claimed_before(session: Session, entry_ids: list[int]) -> tuple[dict[int, date], set[int]]:
    """Per entry: the last day of interest formal notices claimed, and the entries whose indemnity
    was claimed (claims of cancelled notices are withdrawn: they are not here)."""
    through: dict[int, date] = {}
    indemnity: set[int] = set()
    for start in range(0, len(entry_ids), 500):
        chunk = entry_ids[start:start + 500]
        through.update(session.execute(
            select(ClaimedCharge.entry_id, func.max(ClaimedCharge.through_day))
            .where(ClaimedCharge.entry_id.in_(chunk), ClaimedCharge.kind == "interest")
            .group_by(ClaimedCharge.entry_id)).all())
        indemnity.update(session.scalars(select(ClaimedCharge.entry_id).where(
            ClaimedCharge.entry_id.in_(chunk), ClaimedCharge.kind == "indemnity")))
    return through, indemnity


def open_entry_charges(session: Session, customer: Customer, today: date, terms: Terms) -> list[Charges]:
    """The late-payment charges not claimed yet of the customer's open, overdue invoices, the oldest
    due first; [] when charges are off for this customer."""
    if not customer.late_payment_charges:
        return []
    entries = list(session.scalars(
        select(Entry).where(Entry.customer_id == customer.id, Entry.is_open.is_(True), Entry.kind == INVOICE,
                            Entry.due_date < today).order_by(Entry.due_date, Entry.id)))
    ids = [e.id for e in entries]
    paid = payments_by_entry(session, ids)
    through, indemnity = claimed_before(session, ids)
    return [c for e in entries if (c := charges_of(e, paid.get(e.id, ()), today, terms, through.get(e.id),
                                                   e.id in indemnity)) is not None]


# The payments that lowered a principal which bore interest until then: not reversed, and not a credit
# note (what it credits was never owed).
BEARING = (Payment.reversed_at.is_(None), ~Payment.reference.startswith(CREDIT_NOTE_PAYMENT))


def payments_by_entry(session: Session, entry_ids: list[int]) -> dict[int, list[tuple[date, int]]]:
    found: dict[int, list[tuple[date, int]]] = {}
    for start in range(0, len(entry_ids), 500):
        rows = session.execute(select(Payment.entry_id, Payment.paid_on, Payment.amount_cents).where(
            Payment.entry_id.in_(entry_ids[start:start + 500]), *BEARING))
        for entry_id, paid_on, cents in rows:
            found.setdefault(entry_id, []).append((paid_on, cents))
    return found


class Totals(NamedTuple):
    currency: str
    principal_cents: int
    interest_cents: int | None
    indemnity_cents: int | None

    @property
    def total_cents(self) -> int | None:
        if self.interest_cents is None or self.indemnity_cents is None:
            return None
        return self.principal_cents + self.interest_cents + self.indemnity_cents


def totals(charges: Iterable[Charges]) -> list[Totals]:
    """Per currency: principal, interest, indemnity (None when one of them is unknown)."""
    sums: dict[str, list] = {}
    for c in charges:
        row = sums.setdefault(c.currency, [0, 0, 0])
        row[0] += c.principal_cents
        row[1] = None if row[1] is None or c.interest_cents is None else row[1] + c.interest_cents
        row[2] = None if row[2] is None or c.indemnity_cents is None else row[2] + c.indemnity_cents
    return [Totals(currency, *row) for currency, row in sorted(sums.items())]


class Overview(NamedTuple):
    """What Settings → Late payment shows."""

    terms: Terms
    rates: list[HalfYear]          # the latest first
    missing: list[date]            # half-years up to today without rates (legal basis only)
    currencies: list[str]          # EUR, and every currency of the ledger
    choices: list[date]            # half-years an admin may set
    next: date                     # the one after the latest known


def overview(session: Session, today: date) -> Overview:
    found = terms(session)
    latest = max(found.rates) if found.rates else half_year_of(today)
    following = next_half_year(latest)
    # From two years back to the half-year after the latest known (or after today's).
    choices, start = [], date(half_year_of(today).year - 2, 1, 1)
    while start <= max(following, next_half_year(half_year_of(today))):
        choices.append(start)
        start = next_half_year(start)
    in_use = set(session.scalars(select(CustomerSummary.currency).distinct())) | set(found.indemnities) | {"EUR"}
    return Overview(found, sorted(found.rates.values(), reverse=True), found.missing_half_years(today), sorted(in_use),
                    list(reversed(choices)), following)


def accrue(session: Session, today: date | None = None, terms_now: Terms | None = None) -> int:
    """The daily run: every customer's interest and indemnities over its open, overdue invoices, as
    of `today`, in late_charges_totals (for the exports). Streams the invoices and their payments in
    due-date order; returns how many invoices were counted."""
    today = today or clock.today()
    found_terms = terms_now or terms(session)
    charged = select(Customer.id).where(Customer.late_payment_charges.is_(True))
    overdue = (Entry.is_open.is_(True), Entry.kind == INVOICE, Entry.due_date < today,
               Entry.customer_id.in_(charged))
    paid: dict[int, list[tuple[date, int]]] = {}
    for entry_id, paid_on, cents in session.execute(
            select(Payment.entry_id, Payment.paid_on, Payment.amount_cents).join(Entry, Entry.id == Payment.entry_id)
            .where(*overdue, *BEARING, Payment.paid_on > Entry.due_date)):
        paid.setdefault(entry_id, []).append((paid_on, cents))
    # What formal notices claimed already (few rows): only the rest is counted.
    through = dict(session.execute(select(ClaimedCharge.entry_id, func.max(ClaimedCharge.through_day))
                                   .where(ClaimedCharge.kind == "interest").group_by(ClaimedCharge.entry_id)).all())
    indemnity_claimed = set(session.scalars(select(ClaimedCharge.entry_id).where(ClaimedCharge.kind == "indemnity")))
    totals: dict[tuple[int, str], list] = {}
    counted = 0
    rows = session.execute(select(Entry.id, Entry.customer_id, Entry.currency, Entry.due_date, Entry.open_cents)
                           .where(*overdue).execution_options(yield_per=20000))
    indemnities = found_terms.indemnities
    for entry_id, customer_id, currency, due_date, open_cents in rows:
        last = through.get(entry_id)
        cents, _missing = interest_cents(open_cents, paid.get(entry_id), due_date, today, found_terms,
                                  since=last + timedelta(days=1) if last else None)
        total = totals.get((customer_id, currency))
        if total is None:
            total = totals[(customer_id, currency)] = [0, 0, 0]
        total[0] += 1
        total[1] = None if total[1] is None or cents is None else total[1] + cents
        indemnity = 0 if entry_id in indemnity_claimed else indemnities.get(currency)
        total[2] = None if total[2] is None or indemnity is None else total[2] + indemnity
        counted += 1
    session.execute(delete(LateChargesTotal))
    if totals:
        session.execute(insert(LateChargesTotal), [
            {"customer_id": customer_id, "currency": currency, "as_of": today, "invoices": count,
             "interest_cents": interest, "indemnity_cents": indemnity}
            for (customer_id, currency), (count, interest, indemnity) in totals.items()])
    return counted


def totals_by_customer(session: Session) -> dict[tuple[int, str], LateChargesTotal]:
    return {(row.customer_id, row.currency): row for row in session.scalars(select(LateChargesTotal))}
