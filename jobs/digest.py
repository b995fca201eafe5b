"""The morning digest job: queued by the worker at 8:00 in the instance's time zone, once a day."""
from __future__ import annotations

from datetime import date

from flask import current_app, render_template
from flask_babel import force_locale

from domain import digest, notifications, settings
from domain.i18n import say
from extensions import db
from jobs.base import absolute_url, job, log, sender_address, user_locale
from mail import smtp as mailer


@job
def morning_digest(day: str) -> str:
    """Make today's digests (once per user, whatever restarts), then e-mail each queued one."""
    digest.mark_unknown_sends(db.session)
    to_send = digest.make_digests(db.session, date.fromisoformat(day))
    db.session.commit()
    sent = failed = 0
    for delivery_id in to_send:
        delivery = digest.claim(db.session, delivery_id)
        db.session.commit()
        if delivery is None:
            continue
        user = delivery.user
        with force_locale(user_locale(user)):
            body = render_template("mail/morning_digest.txt", user=user, delivery=delivery,
                                   url=absolute_url(current_app, "receivables.balances"))
            subject = digest.subject_of(delivery)
        try:
            message = mailer.build_message(sender=sender_address(settings.company(db.session)), to=user.email,
                                           subject=subject, body=body)
            mailer.send(current_app.config.get("SMTP_URL"), message)
        except mailer.MailError as error:
            log.warning("Morning digest %s for %s not sent: %s", delivery.day, user.email, error)
            digest.mark_failed(delivery, str(error))
            notifications.notify(db.session, user.id, say("Your morning digest could not be e-mailed: %(error)s",
                                                          error=str(error)))
            failed += 1
        else:
            digest.mark_sent(delivery)
            sent += 1
        db.session.commit()
    return f"{sent} digests e-mailed, {failed} failed"
