"""SQLAlchemy models of the receivables ledger.

Money is stored as integer cents (BigInteger) beside an ISO currency code; amounts are
positive and `Entry.kind` says whether an entry adds to the balance (invoice) or reduces it
(credit note).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, SmallInteger,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from domain import clock
from domain.i18n import KeptText
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ROLES = ("admin", "finance", "support")
# admin: everything and users; finance: everything but users;
# support: reads everything and may remove collection marks set by mistake.
PERMISSIONS = {
    "read": {"admin", "finance", "support"},
    "remove_collection_mark": {"admin", "finance", "support"},
    "edit": {"admin", "finance"},
    "manage_users": {"admin"},
    "set_reference_rates": {"admin"},  # the ECB and legal interest rates of each half-year
}
LANGUAGES = ("en", "fr")  # the interface languages (translations/<code>/LC_MESSAGES/messages.po)
INVOICE, CREDIT_NOTE = "invoice", "credit_note"
ENTRY_KINDS = (INVOICE, CREDIT_NOTE)
MAX_LEVEL = 5


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    # How a finished export reaches this user: app | email | both | none
    export_notifications: Mapped[str] = mapped_column(String(10), default="app", server_default="app")
    # The interface language; None: the browser's (Accept-Language), then RELANCE_LOCALE.
    language: Mapped[str | None] = mapped_column(String(5))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The morning digest at 8:00: broken promises, untouched disputes, what is due today.
    morning_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    # The login (UserSession) this object was loaded for, set by domain.users.open_session and
    # user_for_session. Flask-Login keeps get_id() in the session and the remember cookie, so a
    # cookie is only as good as its login row: closing the row ends the cookie.
    session_token = None

    # Flask-Login protocol, kept here so the domain needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        if not self.session_token:
            raise RuntimeError("log users in through domain.users.open_session")
        return self.session_token

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


class UserSession(Base):
    """One login of a user (a browser), until logout, a password change or deactivation ends it.

    The row's id is a SHA-256 digest of the token the cookies carry: the table alone cannot be
    turned back into working cookies."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class StopRemindersFlag:
    """The "stop reminders" switch, with who set it, when, why and until when."""

    reminders_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_reason: Mapped[str | None] = mapped_column(String(500))
    stop_reason_i18n: Mapped[str | None] = mapped_column(Text)
    shown_stop_reason = KeptText("stop_reason")  # a person's words, or Relance's ("Collection file") as a Said
    stop_until: Mapped[date | None] = mapped_column(Date)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)

    @declared_attr
    def stopped_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"))

    def reminders_stopped_on(self, day: date) -> bool:
        return self.reminders_stopped and (self.stop_until is None or self.stop_until >= day)


class Customer(StopRemindersFlag, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(40), unique=True)
    # + on PostgreSQL only, ix_customers_name_trgm (migration c4e6a8b0d217): the search by any part of a name
    name: Mapped[str] = mapped_column(String(200), index=True)
    registration_number: Mapped[str | None] = mapped_column(String(40), index=True)
    emails: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="en")
    # Days from issue to due date agreed with the customer (None: the company's default).
    payment_terms_days: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    # The automatic follow-up plan the daily run applies to this customer's entries (None: none).
    follow_up_plan_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up_plans.id"), index=True)
    # Late-payment interest and the recovery indemnity apply (off: a public body, a consumer…). On
    # through the database's default only: bulk Core inserts (demo, imports) leave it out.
    late_payment_charges: Mapped[bool] = mapped_column(Boolean, server_default="1")
    # The transfer option for this customer (10, 20, 30), over the company's; None: the company's.
    transfer_option: Mapped[int | None] = mapped_column(SmallInteger)

    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", order_by="Contact.id")
    entries: Mapped[list[Entry]] = relationship(back_populates="customer", lazy="dynamic")
    stopped_by: Mapped[User | None] = relationship(foreign_keys="Customer.stopped_by_id")
    follow_up_plan: Mapped[FollowUpPlan | None] = relationship()

    @property
    def email_list(self) -> list[str]:
        return [e.strip() for e in (self.emails or "").split(",") if e.strip()]

    @property
    def billing_contact(self) -> Contact | None:
        return next((c for c in self.contacts if c.billing), None)

    @property
    def reminder_emails(self) -> list[str]:
        """Where reminders go: the billing contact's address first (To), then the customer's (Cc)."""
        billing = self.billing_contact
        first = [billing.email] if billing is not None and billing.email else []
        return first + [e for e in self.email_list if not first or e.lower() != first[0].lower()]


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    # The one contact of the customer who receives the reminders (and whom they greet).
    billing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Entry(StopRemindersFlag, Base):
    """An invoice or a credit note on a customer's account."""

    __tablename__ = "entries"
    __table_args__ = (
        # The due-dates view and the summary upkeep read open entries by due date.
        Index("ix_entries_open_due", "is_open", "due_date", "id"),
        Index("ix_entries_customer_open", "customer_id", "is_open", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=INVOICE)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    open_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Kept in step with open_cents so "open entries" is an indexed equality.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    reminder_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_reminder_on: Mapped[date | None] = mapped_column(Date)

    in_collection: Mapped[bool] = mapped_column(Boolean, default=False)
    collection_marked_at: Mapped[datetime | None] = mapped_column(DateTime)
    collection_marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    collection_reason: Mapped[str | None] = mapped_column(String(500))
    collection_reason_i18n: Mapped[str | None] = mapped_column(Text)

    collection_case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_cases.id"), index=True)

    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    disputed_at: Mapped[datetime | None] = mapped_column(DateTime)
    disputed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
    dispute_reason_i18n: Mapped[str | None] = mapped_column(Text)
    # Under an open promise to pay: reminders pause until this day (included), then resume.
    promised_until: Mapped[date | None] = mapped_column(Date)
    # Under a running payment schedule: reminded by its instalments, not its due date.
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    # Cancelled by hand (issued by mistake): kept and listed, open amount 0, in no balance.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    # "Follow-up plan enabled": off, the daily run leaves this entry alone. On by default through
    # the database's default only (no Python default): bulk Core inserts (demo, imports) leave it out.
    follow_up_enabled: Mapped[bool] = mapped_column(Boolean, server_default="1")

    customer: Mapped[Customer] = relationship(back_populates="entries")
    payments: Mapped[list[Payment]] = relationship(back_populates="entry", order_by="Payment.paid_on")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="entry")
    collection_marked_by: Mapped[User | None] = relationship(foreign_keys="Entry.collection_marked_by_id")
    collection_case: Mapped[CollectionCase | None] = relationship(back_populates="entries")
    stopped_by: Mapped[User | None] = relationship(foreign_keys="Entry.stopped_by_id")
    disputed_by: Mapped[User | None] = relationship(foreign_keys="Entry.disputed_by_id")
    cancelled_by: Mapped[User | None] = relationship(foreign_keys="Entry.cancelled_by_id")

    shown_dispute_reason = KeptText("dispute_reason")
    shown_collection_reason = KeptText("collection_reason")

    @property
    def sign(self) -> int:
        return -1 if self.kind == CREDIT_NOTE else 1

    @property
    def balance_cents(self) -> int:
        """What this entry adds to the customer's balance (negative for a credit note)."""
        return self.sign * self.open_cents

    def promised_on_hold(self, day: date) -> bool:
        """Under an open promise to pay whose date (+ grace) has not passed: reminders wait."""
        return self.promised_until is not None and self.promised_until >= day

    def days_overdue(self, day: date | None = None) -> int:
        if self.kind == CREDIT_NOTE:
            return 0  # what the company owes back is never late on the customer's side
        return max(0, ((day or clock.today()) - self.due_date).days)


class Payment(Base):
    """What settles one entry: imported (a bank or ERP line), or the part of a receipt recorded by
    hand. Reversed (a cheque returned unpaid) it stays listed, and its amount is open again."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("entry_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime)

    entry: Mapped[Entry] = relationship(back_populates="payments")
    receipt: Mapped[Receipt | None] = relationship(back_populates="payments")


# The reference of the payment a credit note makes on an invoice (a dispute found justified): the
# credited amount was never owed, so it bears no late-payment interest (domain.ledger.interest).
CREDIT_NOTE_PAYMENT = "Credit note "

PAYMENT_METHODS = {"transfer": lazy_pgettext("payment method", "Transfer"),
                   "cheque": lazy_pgettext("payment method", "Cheque"), "card": lazy_pgettext("payment method", "Card"),
                   "direct_debit": lazy_pgettext("payment method", "Direct debit"),
                   "cash": lazy_pgettext("payment method", "Cash")}


class Receipt(Base):
    """A payment received from a customer (a cheque, a transfer…), recorded by hand and spread over
    its entries as payments. Reversed with a reason (a cheque returned unpaid): its payments are
    reversed and the entries open again."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))  # PAYMENT_METHODS
    reference: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    # The form's token: the same form sent twice (a double click, a retried request) is one receipt.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reversal_reason: Mapped[str | None] = mapped_column(String(500))

    customer: Mapped[Customer] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    payments: Mapped[list[Payment]] = relationship(back_populates="receipt", order_by="Payment.id")

    @property
    def method_label(self) -> str:
        return str(PAYMENT_METHODS.get(self.method, self.method))


class Attachment(Base):
    """A file attached to an entry (the invoice PDF), stored under the attachment directory."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    storage_name: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)

    entry: Mapped[Entry] = relationship(back_populates="attachments")


class ReminderActivity(Base):
    """A reminder that went out (e-mail or letter), with the message as sent."""

    __tablename__ = "reminder_activities"
    __table_args__ = (Index("ix_reminder_activities_customer_sent", "customer_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    sent_at: Mapped[datetime] = mapped_column(DateTime)
    channel: Mapped[str] = mapped_column(String(20))  # email | letter
    level: Mapped[int] = mapped_column(SmallInteger)
    sender: Mapped[str] = mapped_column(String(254), default="")
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    customer: Mapped[Customer] = relationship()
    sent_by: Mapped[User | None] = relationship()
    covered: Mapped[list[ReminderEntry]] = relationship(back_populates="activity", cascade="all, delete-orphan")


class ReminderEntry(Base):
    """One entry covered by a reminder, with its open amount at the time."""

    __tablename__ = "reminder_entries"

    activity_id: Mapped[int] = mapped_column(ForeignKey("reminder_activities.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)
    open_cents: Mapped[int] = mapped_column(BigInteger)

    activity: Mapped[ReminderActivity] = relationship(back_populates="covered")
    entry: Mapped[Entry] = relationship()


class AuditEvent(Base):
    """Who did what, when and why: the account's history panel."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(Text, default="")
    detail_i18n: Mapped[str | None] = mapped_column(Text)  # the Said behind detail (domain.i18n)
    reason: Mapped[str | None] = mapped_column(String(500))
    reason_i18n: Mapped[str | None] = mapped_column(Text)
    # The user an account change is about (Settings → Users: role, password, deactivation).
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
    entry: Mapped[Entry | None] = relationship()

    shown_detail = KeptText("detail")
    shown_reason = KeptText("reason")


# Every sortable column of Who owes you what?, each indexed with the tie-breaker, so a page
# (even page 50) is read from an index instead of sorting 20,000 rows.
SUMMARY_SORT_COLUMNS = ("not_due_cents", "days_1_30_cents", "days_31_60_cents", "days_61_90_cents",
                        "over_90_cents", "total_cents", "highest_level", "last_reminder_on")


class SummaryTotal(Base):
    """The totals row of Who owes you what? unfiltered, per currency: the sums of every customer's summary,
    moved by each summary rebuild in the same transaction (domain.ledger.summaries), so the first view
    after a change reads a row per currency instead of adding up every customer's."""

    __tablename__ = "summary_totals"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    not_due_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    days_1_30_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    days_31_60_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    days_61_90_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    over_90_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    disputed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class CustomerSummary(Base):
    """A customer's aged balance in one currency, maintained with every change to its entries
    (domain.ledger) and re-bucketed daily, so no page aggregates the ledger."""

    __tablename__ = "customer_summaries"
    __table_args__ = tuple(
        Index(f"ix_customer_summaries_sort_{column}", column, "customer_id", "currency")
        for column in SUMMARY_SORT_COLUMNS
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    not_due_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    days_1_30_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    days_31_60_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    days_61_90_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    over_90_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    overdue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    open_entries: Mapped[int] = mapped_column(Integer, default=0)
    highest_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_reminder_on: Mapped[date | None] = mapped_column(Date)
    oldest_due_on: Mapped[date | None] = mapped_column(Date)
    in_collection_count: Mapped[int] = mapped_column(Integer, default=0)
    disputed_count: Mapped[int] = mapped_column(Integer, default=0)
    disputed_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # in the total, never out
    reminders_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[date] = mapped_column(Date)

    customer: Mapped[Customer] = relationship()


class LateChargesTotal(Base):
    """A customer's late-payment interest and recovery indemnities in one currency over its open,
    overdue invoices, computed by the daily run (domain.ledger.interest.accrue) as of `as_of`, for
    the exports; None: unknown (a half-year's rates or the currency's indemnity are missing)."""

    __tablename__ = "late_charges_totals"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    invoices: Mapped[int] = mapped_column(Integer)
    interest_cents: Mapped[int | None] = mapped_column(BigInteger)
    indemnity_cents: Mapped[int | None] = mapped_column(BigInteger)


class LedgerState(Base):
    """One row: a random stamp drawn anew with every summary rebuild, so readers can cache what
    they compute from summaries (the totals row) and know when it is stale. Random rather than
    counted, so a restored backup or another database never repeats a stamp that meant other data."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    summaries_stamp: Mapped[int] = mapped_column(BigInteger, default=0)


class BackgroundWork:
    """What the worker does for a user, followed on screen until it ends: who asked (user), with
    which parameters (JSON), where it stands (status, progress, message), the file it leaves
    (filename; deleted with its folder after expires_at) and what the job found (result, JSON).
    Exports and bulk runs share these columns, never their ids' meaning: each has its own table."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    filename: Mapped[str | None] = mapped_column(String(255))
    message_i18n: Mapped[str | None] = mapped_column(Text)
    # The locale of the person when they asked (their language, else their browser's): the file and its
    # e-mail speak it, even for a user who never chose a language.
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # After this the file is deleted by the daily clean-up and the record shows as expired.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    file_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    result: Mapped[str | None] = mapped_column(Text)

    FINAL = ("ready", "failed", "cancelled")
    shown_message = KeptText("message")

    @declared_attr
    def user(cls) -> Mapped[User]:
        return relationship(User)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Export(BackgroundWork, Base):
    """A file built in the worker: queued → running → ready | failed."""

    __tablename__ = "exports"
    # Ids are never reused on SQLite: an export's folder (exports/<id>/) is its own.
    __table_args__ = {"sqlite_autoincrement": True}

    kind: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)

    customer: Mapped[Customer | None] = relationship()


class BulkRun(BackgroundWork, Base):
    """Bulk reminders from Who owes you what?: planned first (queued → running → planned), sent
    only once the user confirms the plan (planned → queued → running → done | failed) or never
    (cancelled). `result` holds the plan, then the counts; the file is the CSV report."""

    __tablename__ = "bulk_runs"
    # Ids are never reused on SQLite: the outbox's dedupe keys name the run (bulk:<run>:<customer>).
    __table_args__ = {"sqlite_autoincrement": True}

    FINAL = ("done", "failed", "cancelled")


CASE_STATUSES = ("open", "sent_to_agency", "amicable", "legal", "paid", "closed")
CASE_STATUS_LABELS = {
    "open": lazy_pgettext("case status", "Open"), "sent_to_agency": lazy_pgettext("case status", "Sent to agency"),
    "amicable": lazy_pgettext("case status", "Amicable"), "legal": lazy_pgettext("case status", "Legal"),
    "paid": lazy_pgettext("case status", "Paid"), "closed": lazy_pgettext("case status", "Closed"),
}


class CollectionCase(Base):
    """Entries of one customer handed over to collection together, with the file that went out."""

    __tablename__ = "collection_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    export_id: Mapped[int | None] = mapped_column(ForeignKey("exports.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("collection_agencies.id"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)

    customer: Mapped[Customer] = relationship()
    opened_by: Mapped[User | None] = relationship()
    export: Mapped[Export | None] = relationship()
    agency: Mapped[CollectionAgency | None] = relationship()
    entries: Mapped[list[Entry]] = relationship(back_populates="collection_case")

    @property
    def status_label(self) -> str:
        return str(CASE_STATUS_LABELS[self.status])


class CollectionAgency(Base):
    __tablename__ = "collection_agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


DISPUTE_REASONS = {"not_received": _l("Invoice not received"), "wrong_amount": _l("Amount or price wrong"),
                   "goods_disputed": _l("Goods or service disputed"),
                   "already_paid": lazy_pgettext("dispute reason", "Already paid"),
                   "duplicate": lazy_pgettext("dispute reason", "Duplicate"),
                   "other": lazy_pgettext("dispute reason", "Other")}
DISPUTE_STATUSES = {"open": lazy_pgettext("dispute status", "Open"),
                    "waiting_customer": _l("Waiting for the customer"), "waiting_us": _l("Waiting for us"),
                    "resolved": lazy_pgettext("dispute status", "Resolved")}
DISPUTE_OUTCOMES = {"justified": lazy_pgettext("dispute outcome", "Justified"),
                    "not_justified": lazy_pgettext("dispute outcome", "Not justified"),
                    "paid": lazy_pgettext("dispute outcome", "Paid")}


class Dispute(Base):
    """What a customer contests, on one or several of its entries: reminders stop for them while it
    is unresolved (`Entry.disputed` is kept in step), the amounts stay in every balance."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_status_activity", "status", "last_activity_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # DISPUTE_REASONS
    note: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # DISPUTE_STATUSES
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    # Resolution: the outcome; a justified dispute waits for its credit note (proposed amount),
    # the entries staying held until it is recorded.
    outcome: Mapped[str | None] = mapped_column(String(20))  # DISPUTE_OUTCOMES
    credit_note_cents: Mapped[int | None] = mapped_column(BigInteger)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    entries: Mapped[list[Entry]] = relationship(secondary="dispute_entries", order_by="Entry.due_date")
    events: Mapped[list[DisputeEvent]] = relationship(back_populates="dispute", order_by="DisputeEvent.id")

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def reason_label(self) -> str:
        return str(DISPUTE_REASONS.get(self.reason, self.reason))

    @property
    def status_label(self) -> str:
        return str(DISPUTE_STATUSES.get(self.status, self.status))


class DisputeEntry(Base):
    __tablename__ = "dispute_entries"

    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)


class DisputeEvent(Base):
    """One step on a dispute's timeline: opened, a note (with a file or not), a status, an owner,
    the resolution."""

    __tablename__ = "dispute_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # opened, note, status, owner, resolved, credit_note
    text: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str | None] = mapped_column(String(255))  # a file attached to a note
    text_i18n: Mapped[str | None] = mapped_column(Text)
    storage_name: Mapped[str | None] = mapped_column(String(255), unique=True)
    size: Mapped[int | None] = mapped_column(Integer)

    dispute: Mapped[Dispute] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    shown_text = KeptText("text")


PROMISE_CHANNELS = {"phone": lazy_pgettext("promise channel", "Phone"),
                    "email": lazy_pgettext("promise channel", "E-mail"),
                    "portal": lazy_pgettext("promise channel", "Portal"),
                    "letter": lazy_pgettext("promise channel", "Letter")}
PROMISE_STATUSES = {"open": lazy_pgettext("promise status", "Open"), "kept": lazy_pgettext("promise status", "Kept"),
                    "partly_kept": lazy_pgettext("promise status", "Partly kept"),
                    "broken": lazy_pgettext("promise status", "Broken"),
                    "cancelled": lazy_pgettext("promise status", "Cancelled")}


class Promise(Base):
    """A customer's promise to pay an amount by a date, on one or several of its entries: their
    reminders pause until the date + a grace period (`Entry.promised_until`), and what is paid on
    them decides, by itself, whether it was kept."""

    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_status_due", "status", "promised_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    promised_on: Mapped[date] = mapped_column(Date)
    grace_days: Mapped[int] = mapped_column(SmallInteger)  # as set when it was recorded
    channel: Mapped[str] = mapped_column(String(20))  # PROMISE_CHANNELS
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    # What the entries still owed when it was made: what they owe less later is what was paid.
    open_at_start_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="open")  # PROMISE_STATUSES
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # toward it, when it was settled
    settled_on: Mapped[date | None] = mapped_column(Date)
    cancelled_reason: Mapped[str | None] = mapped_column(String(500))

    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    entries: Mapped[list[Entry]] = relationship(secondary="promise_entries", order_by="Entry.due_date")

    @property
    def until(self) -> date:
        """Reminders for its entries pause until this day (included)."""
        return self.promised_on + timedelta(days=self.grace_days)

    @property
    def status_label(self) -> str:
        return str(PROMISE_STATUSES.get(self.status, self.status))

    @property
    def channel_label(self) -> str:
        return str(PROMISE_CHANNELS.get(self.channel, self.channel))


class PromiseEntry(Base):
    __tablename__ = "promise_entries"

    promise_id: Mapped[int] = mapped_column(ForeignKey("promises.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)


class DigestDelivery(Base):
    """One user's morning digest of one day: made once (the unique key), e-mailed once. Like the
    outbox, a send that was started and never finished is "unknown", never sent again by itself."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)  # the e-mail's body, as made
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sending | sent | failed | unknown | none
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship()


SCHEDULE_FREQUENCIES = {"weekly": lazy_pgettext("schedule frequency", "Weekly"),
                        "monthly": lazy_pgettext("schedule frequency", "Monthly"),
                        "custom": lazy_pgettext("schedule frequency", "Custom dates")}
SCHEDULE_STATUSES = {"running": lazy_pgettext("schedule status", "Running"),
                     "late": lazy_pgettext("schedule status", "Late"),
                     "completed": lazy_pgettext("schedule status", "Completed"),
                     "broken": lazy_pgettext("schedule status", "Broken"),
                     "cancelled": lazy_pgettext("schedule status", "Cancelled")}
# What an outbox message is: a reminder, or a message about a payment schedule.
MESSAGE_KINDS = {"reminder": lazy_pgettext("message kind", "Reminder"),
                 "schedule_agreed": lazy_pgettext("message kind", "Payment plan agreed"),
                 "instalment_notice": lazy_pgettext("message kind", "Instalment coming"),
                 "instalment_overdue": lazy_pgettext("message kind", "Instalment overdue"),
                 "formal_notice": lazy_pgettext("message kind", "Formal notice")}
INSTALMENT_STATUSES = {"due": lazy_pgettext("instalment status", "Due"),
                       "partly_paid": lazy_pgettext("instalment status", "Partly paid"),
                       "paid": lazy_pgettext("instalment status", "Paid"),
                       "late": lazy_pgettext("instalment status", "Late")}


class PaymentSchedule(Base):
    """An instalment plan (échéancier) agreed with a customer over several of its invoices: while it
    runs, its entries are reminded by its instalments, not their due dates (`Entry.scheduled`)."""

    __tablename__ = "payment_schedules"
    __table_args__ = (Index("ix_payment_schedules_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    open_at_start_cents: Mapped[int] = mapped_column(BigInteger)  # what its entries owed when it was agreed
    frequency: Mapped[str] = mapped_column(String(10))  # SCHEDULE_FREQUENCIES
    grace_days: Mapped[int] = mapped_column(SmallInteger)  # an instalment is late after its date + these
    broken_after: Mapped[int] = mapped_column(SmallInteger)  # missed instalments that break it
    waive_fees: Mapped[bool] = mapped_column(Boolean, default=False)  # late interest and the €40 waived while kept
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    status: Mapped[str] = mapped_column(String(10), default="running")  # SCHEDULE_STATUSES
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # as last evaluated
    settled_on: Mapped[date | None] = mapped_column(Date)
    cancelled_reason: Mapped[str | None] = mapped_column(String(500))

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User | None] = relationship()
    entries: Mapped[list[Entry]] = relationship(secondary="schedule_entries", order_by="Entry.due_date")
    instalments: Mapped[list[Instalment]] = relationship(back_populates="schedule", order_by="Instalment.number",
                                                         cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return str(SCHEDULE_STATUSES.get(self.status, self.status))

    @property
    def remaining_cents(self) -> int:
        return max(0, self.total_cents - self.paid_cents)

    @property
    def next_instalment(self) -> Instalment | None:
        return next((i for i in self.instalments if i.status != "paid"), None)

    @property
    def is_active(self) -> bool:
        return self.status in ("running", "late")


class ScheduleEntry(Base):
    __tablename__ = "schedule_entries"

    schedule_id: Mapped[int] = mapped_column(ForeignKey("payment_schedules.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)


class Instalment(Base):
    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("schedule_id", "number"), Index("ix_instalments_due", "due_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("payment_schedules.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default="due")  # INSTALMENT_STATUSES
    # The offset (days from due_on) of the last follow-up plan step that went for this instalment:
    # a step is sent once per instalment (domain/reminders/instalments.py).
    reminded_offset: Mapped[int | None] = mapped_column(SmallInteger)

    schedule: Mapped[PaymentSchedule] = relationship(back_populates="instalments")

    @property
    def status_label(self) -> str:
        return str(INSTALMENT_STATUSES.get(self.status, self.status))


class CompanySettings(Base):
    """The company using Relance (one row): named in reminders and in the agency hand-off."""

    __tablename__ = "company_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    registration_number: Mapped[str] = mapped_column(String(40), default="")  # SIREN
    sender_email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str | None] = mapped_column(Text)
    # Due date = issue date + this, for customers without payment terms of their own (entries by
    # hand without a due date, the FEC, which has no due dates).
    payment_terms_days: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    # A dispute nobody touched for this many days is named in the morning digest and flagged.
    dispute_stale_days: Mapped[int] = mapped_column(SmallInteger, default=14, server_default="14")
    # Reminders for entries under a promise pause until its date + these days.
    promise_grace_days: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    # A payment schedule with this many missed instalments is broken.
    schedule_broken_after: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")
    # Late payment (domain/ledger/interest.py): the legal rate (Code de commerce L441-10), or a
    # contractual annual rate in basis points (1/100 of a percent: 1000 = 10 %).
    late_payment_basis: Mapped[str] = mapped_column(String(12), default="legal", server_default="legal")
    contractual_rate_bp: Mapped[int | None] = mapped_column(Integer)
    # The fixed recovery indemnity per invoice (article D441-5), by currency: {"EUR": 4000}; a
    # currency without one has no indemnity computed (and says so), never 0 silently.
    recovery_indemnities: Mapped[dict | None] = mapped_column(JSON)
    # Days a formal notice gives to pay.
    notice_days: Mapped[int] = mapped_column(SmallInteger, default=8, server_default="8")
    # From reminder to debt collection (domain/debt_collection.py): transfer option 10 (automatic),
    # 20 (list with automation: after N working days), 30 (list without automation: approved by hand).
    transfer_option: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    transfer_working_days: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    claim_auto_close_days: Mapped[int] = mapped_column(SmallInteger, default=60, server_default="60")
    # The calendar of working days: weekends and the public holidays of this country (and region:
    # "57" Moselle / "6AE" Alsace add Good Friday and 26 December).
    holiday_country: Mapped[str] = mapped_column(String(2), default="FR", server_default="FR")
    holiday_region: Mapped[str | None] = mapped_column(String(10))
    # Where customers pay (printed on formal notices), checked with python-stdnum.
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))


class ReferenceRate(Base):
    """The rates of one half-year (starting 1 January or 1 July) as an admin set them, over the
    values shipped in domain/ledger/reference_rates.csv: the ECB's main refinancing rate in force on
    its first day and France's legal interest rate ("autres cas"), in basis points."""

    __tablename__ = "reference_rates"

    starts_on: Mapped[date] = mapped_column(Date, primary_key=True)
    ecb_rate_bp: Mapped[int] = mapped_column(Integer)
    legal_rate_bp: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    updated_by: Mapped[User | None] = relationship()


NOTICE_CHANNELS = {"letter": _l("Letter (PDF)"), "email": _l("E-mail with the letter attached")}
CHARGE_KINDS = {"interest": _l("Late-payment interest"), "indemnity": _l("Recovery indemnity")}
CHARGE_STATUSES = {"open": lazy_pgettext("charge status", "Open"), "paid": lazy_pgettext("charge status", "Paid"),
                   "waived": lazy_pgettext("charge status", "Waived"),
                   "written_off": lazy_pgettext("charge status", "Written off")}


class FormalNotice(Base):
    """A formal notice (mise en demeure, letter before action): the invoices, the interest and the
    recovery indemnity it claims, and the deadline to pay; by letter or e-mail, "sent by registered
    letter" once the user records the tracking number."""

    __tablename__ = "formal_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # NOTICE_CHANNELS
    language: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    principal_cents: Mapped[int] = mapped_column(BigInteger)
    interest_cents: Mapped[int] = mapped_column(BigInteger)   # claimed by this notice (0: not claimed)
    indemnity_cents: Mapped[int] = mapped_column(BigInteger)
    claims_charges: Mapped[bool] = mapped_column(Boolean)
    # Interest and indemnities earlier notices claimed on these invoices, still unpaid: in the total.
    earlier_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # How the interest was computed, as it stood on the day: legal or contractual, and the rate of each
    # half-year the claimed periods cross ([["2026-01-01", 1215], …]); the letter says it as it was.
    basis: Mapped[str | None] = mapped_column(String(12))
    rates: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    registered_tracking: Mapped[str | None] = mapped_column(String(60))
    registered_on: Mapped[date | None] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # The form's one-time token: a double click gives back the notice already issued.
    token: Mapped[str | None] = mapped_column(String(100), unique=True)

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User | None] = relationship()
    lines: Mapped[list[FormalNoticeEntry]] = relationship(back_populates="notice", order_by="FormalNoticeEntry.entry_id",
                                                          cascade="all, delete-orphan")
    outbox_message: Mapped[OutboxMessage | None] = relationship()

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.indemnity_cents + (self.earlier_cents or 0)


class FormalNoticeEntry(Base):
    """An invoice of a formal notice, with what the notice says of it."""

    __tablename__ = "formal_notice_entries"

    notice_id: Mapped[int] = mapped_column(ForeignKey("formal_notices.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)
    principal_cents: Mapped[int] = mapped_column(BigInteger)
    interest_cents: Mapped[int] = mapped_column(BigInteger)
    interest_from: Mapped[date | None] = mapped_column(Date)  # the claimed interest's first day (to issued_on)
    indemnity_cents: Mapped[int] = mapped_column(BigInteger)

    notice: Mapped[FormalNotice] = relationship(back_populates="lines")
    entry: Mapped[Entry] = relationship()


class ClaimedCharge(Base):
    """Interest or a recovery indemnity a formal notice claimed: a receivable line of its own, never
    added to the invoice; paid, waived (with a reason) or written off. Interest is claimed for a
    period (from_day … through_day); a later notice claims only the days after; the indemnity once."""

    __tablename__ = "claimed_charges"
    __table_args__ = (UniqueConstraint("entry_id", "kind", "from_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("formal_notices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # CHARGE_KINDS
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    from_day: Mapped[date] = mapped_column(Date)
    through_day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # CHARGE_STATUSES
    settled_at: Mapped[datetime | None] = mapped_column(DateTime)
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))

    entry: Mapped[Entry] = relationship()
    notice: Mapped[FormalNotice] = relationship()
    settled_by: Mapped[User | None] = relationship()


TRANSFER_OPTIONS = {10: _l("10. Automatic transfer to debt collection"),
                    20: _l("20. Debt collection list with automation"),
                    30: _l("30. Debt collection list without automation")}
CLAIM_STATUSES = {"listed": lazy_pgettext("claim status", "In the list"),
                  "paused": lazy_pgettext("claim status", "Paused"),
                  "transferred": lazy_pgettext("claim status", "Transferred to debt collection"),
                  "closed": lazy_pgettext("claim status", "Closed")}
CLOSE_REASONS = {"paid": lazy_pgettext("claim closed", "Paid"), "settled": lazy_pgettext("claim closed", "Settled"),
                 "written_off": lazy_pgettext("claim closed", "Written off"),
                 "not_worth": lazy_pgettext("claim closed", "Not worth pursuing"),
                 "expired": lazy_pgettext("claim closed", "Closed automatically"),
                 "withdrawn": lazy_pgettext("claim closed", "Formal notice cancelled")}


class DebtCollectionClaim(Base):
    """An invoice whose formal notice expired unpaid: ready for debt collection. Under the Automatic
    transfer tab (option 20: goes on `transfer_on` unless paused or closed) or the Manual transfer tab
    (option 30: goes when a user approves it); option 10 transfers it at once. One per invoice and
    notice; `since_on` is when it entered its state (listed, paused): after the company's
    claim_auto_close_days it is closed automatically."""

    __tablename__ = "debt_collection_claims"
    # ix_claims_tab_listed: a tab's page read in its order (listed_on, id), 50 rows, not the whole tab sorted
    __table_args__ = (UniqueConstraint("entry_id", "notice_id"), Index("ix_claims_status_tab", "status", "tab"),
                      Index("ix_claims_tab_listed", "tab", "listed_on", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("formal_notices.id"), index=True)
    option: Mapped[int] = mapped_column(SmallInteger)
    tab: Mapped[str] = mapped_column(String(10))  # automatic | manual
    status: Mapped[str] = mapped_column(String(12), default="listed")  # CLAIM_STATUSES
    listed_on: Mapped[date] = mapped_column(Date)
    since_on: Mapped[date] = mapped_column(Date)
    transfer_on: Mapped[date | None] = mapped_column(Date)  # the automatic tab's day
    pause_reason: Mapped[str | None] = mapped_column(String(500))
    paused_until: Mapped[date | None] = mapped_column(Date)
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    transferred_at: Mapped[datetime | None] = mapped_column(DateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_cases.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    close_reason: Mapped[str | None] = mapped_column(String(12))  # CLOSE_REASONS
    close_note: Mapped[str | None] = mapped_column(String(500))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: closed by Relance

    entry: Mapped[Entry] = relationship()
    customer: Mapped[Customer] = relationship()
    notice: Mapped[FormalNotice] = relationship()
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    paused_by: Mapped[User | None] = relationship(foreign_keys=[paused_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    case: Mapped[CollectionCase | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ("listed", "paused")


class MonitoringPoint(Base):
    """A list with its filters a user keeps an eye on ("Manual transfer — over €5,000"): how many
    items it had and which (up to a cap) when the daily run last looked, and how many of them were
    new since the look before (domain/monitoring.py)."""

    __tablename__ = "monitoring_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    list_key: Mapped[str] = mapped_column("list", String(30))  # domain.monitoring.LISTS
    query: Mapped[str] = mapped_column(String(2000), default="")  # the list's filters, as a query string
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    checked_on: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)
    new_count: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime | None] = mapped_column(DateTime)  # the user opened it since the last look
    keys: Mapped[list | None] = mapped_column(JSON)


LEGAL_STEPS = {"amicable": _l("Amicable action"), "formal_notice": lazy_pgettext("legal step", "Formal notice"),
               "injunction_request": _l("Injunction to pay requested"),
               "injunction_order": _l("Injunction order granted"), "service": _l("Order served"),
               "enforcement": _l("Enforcement formula granted"), "summons": lazy_pgettext("legal step", "Summons"),
               "judgment": lazy_pgettext("legal step", "Judgment")}


class LegalStep(Base):
    """A dated step of a collection case (domain/collection/legal.py), with its document (stored
    like an attachment) and its costs (court or bailiff fees, claimed with the rest)."""

    __tablename__ = "legal_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # LEGAL_STEPS
    on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(1000))
    costs_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    document_filename: Mapped[str | None] = mapped_column(String(255))
    document_storage: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return str(LEGAL_STEPS[self.kind])


class CaseTask(Base):
    """A dated task of a collection case: a legal deadline a step started (serve the order within 6
    months, the opposition period)."""

    __tablename__ = "case_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("legal_steps.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    text: Mapped[str] = mapped_column(String(500))
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    text_i18n: Mapped[str | None] = mapped_column(Text)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[CollectionCase] = relationship()

    shown_text = KeptText("text")


class ImportMapping(Base):
    """Which of a file's headers holds each of an import's columns, remembered per kind (customers,
    entries, payments) when a file with headers of its own ("N° facture") was imported."""

    __tablename__ = "import_mappings"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    columns: Mapped[dict] = mapped_column(JSON)  # column -> the file's header
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)


class Notification(Base):
    """An in-app notification (the bell): an export is ready or failed, bulk reminders were sent or failed."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    export_id: Mapped[int | None] = mapped_column(ForeignKey("exports.id"))
    bulk_run_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_runs.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # opens its account (a broken promise)
    text: Mapped[str] = mapped_column(String(500))
    text_i18n: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    shown_text = KeptText("text")

    export: Mapped[Export | None] = relationship()
    bulk_run: Mapped[BulkRun | None] = relationship()
    customer: Mapped[Customer | None] = relationship()


class ReminderTemplate(Base):
    """A customised reminder template: it overrides the default shipped with the app
    (domain/reminders/default_templates) for its level (0 = prevention, 1…5 = R1…R5), channel and language."""

    __tablename__ = "reminder_templates"
    __table_args__ = (UniqueConstraint("level", "channel", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    channel: Mapped[str] = mapped_column(String(10))  # email | letter
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    updated_by: Mapped[User | None] = relationship()


OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "unknown", "cancelled")


class OutboxMessage(Base):
    """An outgoing reminder e-mail (domain/reminders/outbox.py): queued → sending → sent | failed. It
    becomes a ReminderActivity only once the mail server has taken it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per key: a random key per click (manual), customer + step + date (daily run).
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    sender: Mapped[str] = mapped_column(String(500))
    to_addresses: Mapped[str] = mapped_column(String(1000))  # comma-separated
    cc_addresses: Mapped[str] = mapped_column(String(1000), default="")
    bcc_addresses: Mapped[str] = mapped_column(String(1000), default="")  # the sender's copy
    reply_to: Mapped[str] = mapped_column(String(500), default="")
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{path, filename, content_type}]
    message_id: Mapped[str] = mapped_column(String(255))  # the Message-ID header, the same on every attempt
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_i18n: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_activities.id"))
    # Why a person sent it although reminders were stopped, disputed or in collection ("Send anyway").
    override_reason: Mapped[str | None] = mapped_column(String(500))
    # MESSAGE_KINDS: a reminder raises the entries' levels once sent; a message about a payment
    # schedule (the agreement, an instalment notice or overdue instalment) only leaves a history event.
    kind: Mapped[str] = mapped_column(String(20), default="reminder", server_default="reminder")

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User | None] = relationship()
    activity: Mapped[ReminderActivity | None] = relationship()
    covered: Mapped[list[OutboxEntry]] = relationship(back_populates="message", cascade="all, delete-orphan")

    shown_last_error = KeptText("last_error")


class OutboxEntry(Base):
    """One entry an outgoing message is about, with its open amount when it was written."""

    __tablename__ = "outbox_entries"

    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)
    open_cents: Mapped[int] = mapped_column(BigInteger)

    message: Mapped[OutboxMessage] = relationship(back_populates="covered")
    entry: Mapped[Entry] = relationship()


class ReminderLetter(Base):
    """The PDF of a reminder sent as a letter, stored under the document directory."""

    __tablename__ = "reminder_letters"

    activity_id: Mapped[int] = mapped_column(ForeignKey("reminder_activities.id"), primary_key=True)
    storage_name: Mapped[str] = mapped_column(String(255), unique=True)
    filename: Mapped[str] = mapped_column(String(255))

    activity: Mapped[ReminderActivity] = relationship()


FOLLOW_UP_CHANNELS = ("email", "letter", "task", "notice")  # notice: a formal notice (domain.reminders.notices)


class FollowUpPlan(Base):
    """A named automatic follow-up plan: steps relative to the due date (domain/reminders/follow_up.py)."""

    __tablename__ = "follow_up_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now)

    steps: Mapped[list[FollowUpStep]] = relationship(back_populates="plan", order_by="FollowUpStep.offset_days",
                                                     cascade="all, delete-orphan")


class FollowUpStep(Base):
    """One step of a plan: `offset_days` after the due date (negative: before it, a prevention
    message), by e-mail, letter or a phone-call task, reaching `level` (0 = prevention, 1…5 = R1…R5).
    The message uses the template of `template_level` (None: of the level reached) in the
    customer's language; a task sends nothing and has none. One step per day of a plan.

    Ids are never reused (AUTOINCREMENT on SQLite): the daily run's outbox keys name the step."""

    __tablename__ = "follow_up_steps"
    __table_args__ = (UniqueConstraint("plan_id", "offset_days"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("follow_up_plans.id"), index=True)
    offset_days: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))  # email | letter | task | notice
    level: Mapped[int] = mapped_column(SmallInteger)
    template_level: Mapped[int | None] = mapped_column(SmallInteger)  # None: the template of `level`

    plan: Mapped[FollowUpPlan] = relationship(back_populates="steps")

    @property
    def template(self) -> int | None:
        """The level whose template the step sends; None for a task (it sends nothing) and a formal
        notice (its own letter)."""
        if self.channel in ("task", "notice"):
            return None
        return self.level if self.template_level is None else self.template_level
