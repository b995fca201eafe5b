"""Settings → Reminder templates: the list of templates (level × channel × language) and the
editor with its live preview on a real customer. Admin and finance save and reset; support reads
and previews."""
from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.views import permission_required, render_view, wants_fragment
from domain.reminders import templates
from domain.reminders.templates import TemplateError, TemplateText, TemplateValidationError
from domain.settings import company
from extensions import db

bp = Blueprint("reminder_templates", __name__, url_prefix="/settings/templates")


def _key_or_404(channel: str, level: str, language: str) -> tuple[int, str, str]:
    parsed = templates.parse_level(level)
    if parsed is None or channel not in templates.CHANNELS or language not in templates.LANGUAGES:
        abort(404, description=_("There is no such reminder template."))
    return parsed, channel, language


def _preview(level: int, channel: str, language: str, subject: str, body: str, account: str) -> dict:
    """The template rendered on a real customer (the one asked for, or the customer of the
    oldest overdue entry), or on a sample customer when there is none; or what is wrong."""
    customer = templates.preview_customer(db.session, account)
    problem = None
    if customer is None:
        if account.strip():
            problem = _("There is no customer with account %(account)s: the preview uses a sample customer.",
                        account=repr(account.strip()))
        else:
            problem = _("No customer has open entries yet: the preview uses a sample customer.")
        context = templates.sample_context(language, level=level, company=company(db.session))
    else:
        entries = templates.preview_entries(db.session, customer, level)
        context = templates.reminder_context(db.session, customer, entries, sender=current_user._get_current_object(),
                                             language=language, level=level)
    errors = templates.validate(subject, body, language)
    message = None
    if not errors:
        try:
            message = templates.render(TemplateText(level, channel, language, templates.clean_text(subject),
                                                    templates.clean_text(body)), context)
        except TemplateError as error:
            errors = [error]
    return {"customer": customer, "account": customer.account if customer else account.strip(),
            "problem": problem, "message": message, "errors": errors}


def _editor_context(level: int, channel: str, language: str, *, subject: str | None = None, body: str | None = None,
                    account: str = "", errors=None, notice: str | None = None) -> dict:
    saved = templates.template_for(db.session, level, channel, language)
    subject = saved.subject if subject is None else templates.clean_text(subject)
    body = saved.body if body is None else templates.clean_text(body)
    return {
        "template": saved, "subject": subject, "body": body, "errors": errors or [], "notice": notice,
        "field_errors": {error.field: error for error in errors or []},
        "preview": _preview(level, channel, language, subject, body, account),
        "can_edit": current_user.can("edit"),
        "placeholders": templates.PLACEHOLDERS, "filter_help": templates.FILTER_HELP,
        "level_key": templates.level_key(level), "channel_label": templates.CHANNEL_LABELS[channel],
        "language_label": templates.LANGUAGE_LABELS[language],
        "level_label": _("Prevention (before the due date)") if level == templates.PREVENTION
        else templates.level_name(level),
    }


def _editor_answer(level: int, channel: str, language: str, failed: bool = False, **context):
    """The editor htmx swaps (200 even when refused, so htmx shows why), or the whole page for a
    plain form post (400 when nothing was saved)."""
    response = render_view("reminder_templates/editor.html", "reminder_templates/_editor.html",
                           **_editor_context(level, channel, language, **context))
    if failed and not wants_fragment():
        response.status_code = 400
    return response


@bp.get("/")
@permission_required("read")
def index():
    return render_view("reminder_templates/index.html", "reminder_templates/index.html",
                       templates=templates.all_templates(db.session), levels=templates.LEVELS,
                       channels=templates.CHANNELS, languages=templates.LANGUAGES,
                       channel_labels=templates.CHANNEL_LABELS, language_labels=templates.LANGUAGE_LABELS,
                       level_name=templates.level_name, level_key=templates.level_key)


@bp.get("/<channel>/<level>/<language>")
@permission_required("read")
def edit(channel, level, language):
    key = _key_or_404(channel, level, language)
    return _editor_answer(*key, account=request.args.get("account", ""))


@bp.post("/<channel>/<level>/<language>")
@permission_required("edit")
def save(channel, level, language):
    key = _key_or_404(channel, level, language)
    form = request.form
    subject, body, account = form.get("subject", ""), form.get("body", ""), form.get("account", "")
    try:
        templates.save_template(db.session, current_user, *key, subject, body)
    except TemplateValidationError as refused:
        db.session.rollback()
        return _editor_answer(*key, failed=True, subject=subject, body=body, account=account, errors=refused.errors)
    db.session.commit()
    return _editor_answer(*key, account=account, notice=_("Template saved: it replaces the default from now on."))


@bp.post("/<channel>/<level>/<language>/reset")
@permission_required("edit")
def reset(channel, level, language):
    key = _key_or_404(channel, level, language)
    removed = templates.reset_template(db.session, current_user, *key)
    db.session.commit()
    notice = _("Reset: the default template applies again.") if removed else _("This template already is the default.")
    return _editor_answer(*key, account=request.form.get("account", ""), notice=notice)


@bp.post("/<channel>/<level>/<language>/preview")
@permission_required("read")
def preview(channel, level, language):
    key = _key_or_404(channel, level, language)
    form = request.form
    response = render_view("reminder_templates/_preview.html", "reminder_templates/_preview.html",
                           preview=_preview(*key, form.get("subject", ""), form.get("body", ""), form.get("account", "")))
    return response
