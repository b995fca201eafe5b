"""Ledger jobs: the daily move of open amounts between aging buckets, and the daily settling of
promises to pay (the broken ones told to whoever recorded them)."""
from __future__ import annotations

from datetime import date

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from domain import notifications, settings
from domain.i18n import say
from domain.ledger import promises, schedules, summaries
from domain.models import Promise
from extensions import db
from jobs.base import absolute_url, job, log, sender_address, user_locale
from mail import smtp as mailer

BY_EMAIL = ("email", "both")


@job
def rebucket_summaries() -> None:
    """The daily run: amounts move between aging buckets as days pass."""
    summaries.rebucket_all(db.session)
    db.session.commit()


@job
def evaluate_promises(day: str | None = None) -> str:
    """The daily run: promises whose date + grace has passed are kept, partly kept or broken (the
    user who recorded a broken one hears of it: the bell, set in the same transaction, and e-mail
    if they chose it); payment schedules whose instalment was missed turn late or broken (their
    owner told on the bell)."""
    today = date.fromisoformat(day) if day else None
    settled = promises.evaluate(db.session, today)
    broken = [p.id for p in settled if p.status == "broken"]
    moved = schedules.evaluate(db.session, today)
    db.session.commit()
    for promise_id in broken:
        _mail_broken(db.session.get(Promise, promise_id))
    summary = (f"{len(settled)} promises settled, {len(broken)} broken; "
               f"{len(moved)} schedules changed, {sum(s.status == 'late' for s in moved)} late")
    log.info("Promises: %s", summary)
    return summary


def _mail_broken(promise: Promise) -> None:
    user = promise.recorded_by
    if user is None or not user.active or user.export_notifications not in BY_EMAIL:
        return
    with force_locale(user_locale(user)):
        subject = _("Promise broken: %(customer)s", customer=promise.customer.name)
        body = render_template("mail/promise_broken.txt", promise=promise, user=user,
                               url=absolute_url(current_app, "customers.account_status",
                                                account=promise.customer.account))
    try:
        message = mailer.build_message(sender=sender_address(settings.company(db.session)), to=user.email,
                                       subject=subject, body=body)
        mailer.send(current_app.config.get("SMTP_URL"), message)
    except mailer.MailError as error:
        log.warning("Promise %s: the e-mail to %s was not sent: %s", promise.id, user.email, error)
        if user.export_notifications != "both":  # someone who only wanted e-mail would never hear of it
            notifications.notify(db.session, user.id, say(
                "%(customer)s: promise #%(promise)s broken (the e-mail could not be sent: %(error)s)",
                customer=promise.customer.name, promise=promise.id, error=str(error)), customer_id=promise.customer_id)
            db.session.commit()
