"""Monitoring points: "Keep an eye on this list" from a list page (its filters as they are), the
user's points on /monitoring with their counts and what is new, each opening its list; the count of
new items on the navigation (loaded after the page)."""
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.views import found, fragment, permission_required, wants_fragment
from domain import monitoring
from domain.monitoring import MonitoringError
from extensions import db

bp = Blueprint("monitoring", __name__)

# Where each list lives on the screen (the domain knows lists, not URLs).
ENDPOINTS = {"balances": "receivables.balances", "due_dates": "receivables.due_dates", "collection": "collection.index",
             "disputes": "disputes.index", "promises": "promises.index", "schedules": "schedules.index",
             "debt_collection": "debt_collection.index"}


def list_url(point) -> str:
    query = monitoring.args_of(point)
    return url_for(ENDPOINTS[point.list_key]) + (f"?{urlencode(query)}" if query else "")


def _page(error=None, notice=None, status=200):
    points = monitoring.points_of(db.session, current_user)
    html = render_template("monitoring/index.html", points=points, label_of=monitoring.label_of, list_url=list_url,
                           error=error, notice=notice)
    return html, status


@bp.get("/monitoring")
@permission_required("read")
def index():
    return _page()


@bp.get("/monitoring/<int:point_id>")
@permission_required("read")
def open_point(point_id):
    """Open the point's list; its new items count as seen."""
    point = found(monitoring.point_of(db.session, current_user, point_id), _("There is no such monitoring point."))
    monitoring.mark_seen(point)
    db.session.commit()
    return redirect(list_url(point))


@bp.post("/monitoring")
@permission_required("read")
def save():
    form = request.form
    try:
        point = monitoring.save(db.session, current_user, form.get("list", ""), form.get("query", ""),
                                form.get("name", ""))
        db.session.commit()
    except MonitoringError as problem:
        db.session.rollback()
        if wants_fragment():
            return fragment(render_template("monitoring/_saved.html", error=str(problem), point=None))
        return _page(error=str(problem), status=400)
    if wants_fragment():
        return fragment(render_template("monitoring/_saved.html", error=None, point=point,
                                        label=monitoring.label_of(point)))
    return redirect(url_for("monitoring.index"), 303)


@bp.post("/monitoring/<int:point_id>/delete")
@permission_required("read")
def delete(point_id):
    point = found(monitoring.point_of(db.session, current_user, point_id), _("There is no such monitoring point."))
    name = point.name
    monitoring.delete(db.session, current_user, point)
    db.session.commit()
    html, status = _page(notice=_("“%(name)s” removed.", name=name))
    return fragment(html, status) if wants_fragment() else redirect(url_for("monitoring.index"), 303)


@bp.get("/monitoring/count")
@permission_required("read")
def count():
    """The navigation's badge: new items in the user's points since the daily look."""
    return fragment(render_template("monitoring/_count.html", new=monitoring.unseen_new(db.session, current_user)))
