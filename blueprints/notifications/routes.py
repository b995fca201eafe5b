"""The bell: unread count (polled by base.html's #bell), the list of recent notifications, and
opening one (marks it read, then the download or the Exports page)."""
from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.events import EXPORT_CHANGED
from blueprints._web.views import found, fragment, permission_required, render_view, wants_fragment
from domain import notifications as notification_rules
from extensions import db

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

# htmx stops polling on this status: a logged-out page has no bell to refresh.
STOP_POLLING = 286
PAGE_SIZE = 50


def _list_context(limit: int) -> dict:
    return {"notifications": notification_rules.recent_notifications(db.session, current_user, limit=limit),
            "unread": notification_rules.unread_count(db.session, current_user),
            "can_download": notification_rules.can_download}


@bp.get("/bell")
def bell():
    if not current_user.is_authenticated:
        return "", STOP_POLLING
    html = render_template("notifications/_bell.html", unread=notification_rules.unread_count(db.session, current_user))
    return html, 200, {"Cache-Control": "no-store"}


@bp.get("/")
@permission_required("read")
def index():
    """The bell's dropdown for htmx, the full list as a page otherwise."""
    limit = notification_rules.RECENT if wants_fragment() else PAGE_SIZE
    return render_view("notifications/index.html", "notifications/_menu.html", **_list_context(limit))


@bp.get("/<int:notification_id>/open")
@permission_required("read")
def open_notification(notification_id):
    notification = found(notification_rules.open_notification(db.session, current_user, notification_id),
                         _("There is no such notification."))
    db.session.commit()
    if notification.customer_id is not None:  # a broken promise: the customer's account, its promises
        return redirect(url_for("customers.account_status", account=notification.customer.account,
                                _anchor="promises"))
    if notification.bulk_run_id is not None:  # the run's counts, report and Retry
        return redirect(url_for("reminders.bulk_runs", _anchor=f"bulk-run-{notification.bulk_run_id}"))
    if notification_rules.can_download(notification.export):
        return redirect(url_for("exports.download", export_id=notification.export_id))
    return redirect(url_for("exports.index"))


@bp.post("/read")
@permission_required("read")
def mark_all_read():
    notification_rules.mark_all_read(db.session, current_user)
    db.session.commit()
    if not wants_fragment():
        return redirect(url_for("notifications.index"))
    html = render_template("notifications/_menu.html", **_list_context(notification_rules.RECENT))
    return fragment(html, events=(EXPORT_CHANGED,))  # what #bell listens for (base.html)
