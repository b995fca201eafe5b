"""Follow-up plans: the plans page (plans with their steps, create, rename and delete plans, add,
remove and choose the template of steps, assign plans to customers by account list or to all
customers matching a filter), the plan selector of an account, and the per-entry "Follow-up plan
enabled" switch."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED
from blueprints._web.views import customer_or_404, fragment, get_or_404, permission_required, render_view
from domain.listing import whole_number
from domain.models import Entry, FollowUpPlan, FollowUpStep
from domain.reminders import follow_up, templates
from domain.reminders.follow_up import FollowUpError
from extensions import db

bp = Blueprint("follow_up", __name__, url_prefix="/follow-up")



def _plan_or_404(plan_id: int) -> FollowUpPlan:
    return get_or_404(FollowUpPlan, plan_id, _("This follow-up plan does not exist (any more)."))


def _plans_view(notice: str | None = None, error: str | None = None, form: dict | None = None, error_plan=None):
    return render_view("follow_up/index.html", "follow_up/_plans.html", plans=follow_up.plans(db.session),
                       counts=follow_up.customer_counts(db.session), notice=notice, error=error, form=form or {},
                       error_plan=error_plan, channels=follow_up.CHANNEL_LABELS, levels=templates.LEVELS,
                       level_name=templates.level_name, can_edit=current_user.can("edit"))


def _step_or_404(step_id: int) -> FollowUpStep:
    return get_or_404(FollowUpStep, step_id, _("This step does not exist (any more)."))


def _mutation(action, success: Callable[[Any], str], error_plan=None):
    """Run a change; the plans fragment with the notice (`success` of the change's result), or with
    the reason it was refused (200, so htmx swaps it in)."""
    try:
        result = action()
        db.session.commit()
    except FollowUpError as problem:
        db.session.rollback()
        return _plans_view(error=str(problem), form=request.form.to_dict(), error_plan=error_plan)
    return _plans_view(notice=success(result))


@bp.get("/")
@permission_required("read")
def index():
    return _plans_view()


@bp.post("/plans")
@permission_required("edit")
def create_plan():
    name = request.form.get("name")
    return _mutation(lambda: follow_up.create_plan(db.session, current_user, name).name,
                     lambda created: _("Plan %(name)s created: add its steps.", name=repr(created)), error_plan="new")


@bp.post("/plans/<int:plan_id>")
@permission_required("edit")
def rename_plan(plan_id):
    plan = _plan_or_404(plan_id)
    return _mutation(lambda: follow_up.rename_plan(db.session, current_user, plan, request.form.get("name")),
                     lambda _result: _("Plan renamed."), error_plan=plan.id)


@bp.post("/plans/<int:plan_id>/steps")
@permission_required("edit")
def add_step(plan_id):
    plan = _plan_or_404(plan_id)
    form = request.form
    return _mutation(lambda: follow_up.describe_step(follow_up.add_step(
        db.session, current_user, plan, form.get("offset_days"), form.get("channel", ""), form.get("level"),
        form.get("template_level"))),
        lambda step: _("Step %(step)s added.", step=step), error_plan=plan.id)


@bp.post("/plans/<int:plan_id>/delete")
@permission_required("edit")
def delete_plan(plan_id):
    """Delete the plan and its steps; its customers are left without a plan, history stays."""
    plan = _plan_or_404(plan_id)
    name = plan.name

    def delete() -> str:
        count = follow_up.delete_plan(db.session, current_user, plan)
        if count == 0:
            return _("Plan %(name)s deleted: No customer had it. Past reminders stay in the history.", name=repr(name))
        return ngettext("Plan %(name)s deleted: %(num)d customer no longer has a follow-up plan. "
                        "Past reminders stay in the history.",
                        "Plan %(name)s deleted: %(num)d customers no longer have a follow-up plan. "
                        "Past reminders stay in the history.", count, name=repr(name))

    return _mutation(delete, str)


@bp.post("/steps/<int:step_id>/template")
@permission_required("edit")
def step_template(step_id):
    """The template an existing step sends (empty: the template of the level it reaches)."""
    step = _step_or_404(step_id)

    def change() -> str:
        if not follow_up.set_step_template(db.session, current_user, step, request.form.get("template_level")):
            return _("Nothing changed.")
        return _("The step at %(days)s days now sends %(template)s.", days="%+d" % step.offset_days,
                 template=follow_up.describe_template(step))

    return _mutation(change, str, error_plan=step.plan_id)


@bp.post("/steps/<int:step_id>/delete")
@permission_required("edit")
def remove_step(step_id):
    step = _step_or_404(step_id)
    return _mutation(lambda: follow_up.remove_step(db.session, current_user, step), lambda _result: _("Step removed."))


@bp.post("/plans/<int:plan_id>/assign")
@permission_required("edit")
def assign(plan_id):
    """To the listed accounts, or (scope=matching) to every customer whose name or account
    contains the filter text (all customers when it is empty)."""
    plan = _plan_or_404(plan_id)

    def assigned(count: int) -> str:
        # The English says "customers" for one too (as it always did); the plural forms are the translations'.
        return ngettext("Plan %(name)s assigned to %(num)d more customers.",
                        "Plan %(name)s assigned to %(num)d more customers.", count, name=repr(plan.name))

    if request.form.get("scope") == "matching":
        text = request.form.get("match", "")
        return _mutation(lambda: follow_up.assign_matching(db.session, current_user, plan, text), assigned,
                         error_plan=plan.id)
    accounts = follow_up.parse_accounts(request.form.get("accounts"))
    return _mutation(lambda: follow_up.assign_accounts(db.session, current_user, plan, accounts), assigned,
                     error_plan=plan.id)


@bp.get("/customers/<account>/plan")
@permission_required("read")
def customer_plan_selector(account):
    """The plan selector of the account page (loaded into it)."""
    customer = customer_or_404(account)
    return render_template("follow_up/_customer_plan.html", customer=customer, plans=follow_up.plans(db.session))


@bp.post("/customers/<account>/plan")
@permission_required("edit")
def customer_plan(account):
    """The plan selector of the account page: one customer's plan."""
    customer = customer_or_404(account)
    plan_id = (request.form.get("plan_id") or "").strip()
    plan = _plan_or_404(number) if (number := whole_number(plan_id)) is not None else None
    follow_up.assign(db.session, current_user, plan, customer)
    db.session.commit()
    html = render_template("follow_up/_customer_plan.html", customer=customer, plans=follow_up.plans(db.session),
                           notice=_("Saved."))
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


@bp.post("/entries/<int:entry_id>/switch")
@permission_required("edit")
def entry_switch(entry_id):
    """The entry's "Follow-up plan enabled" switch; answers with the entry's row."""
    entry = get_or_404(Entry, entry_id, _("This entry does not exist (any more)."))
    follow_up.set_enabled(db.session, current_user, entry, request.form.get("enabled") == "1")
    db.session.commit()
    html = render_template("customers/_entry_row.html", entry=entry, customer=entry.customer)
    return fragment(html, events=(ACCOUNT_CHANGED,))
