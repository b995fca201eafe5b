"""The web layer: one package per area of the screen, its routes in `routes.py`. Thin: parse
input, call the domain, render. A new area is one import and one line in BLUEPRINTS below."""
from flask import Flask

from blueprints.account.routes import bp as account
from blueprints.attachments.routes import bp as attachments
from blueprints.auth.routes import bp as auth
from blueprints.collection.routes import bp as collection
from blueprints.customers.routes import bp as customers
from blueprints.debt_collection.routes import bp as debt_collection
from blueprints.disputes.routes import bp as disputes
from blueprints.exports.routes import bp as exports
from blueprints.follow_up.routes import bp as follow_up
from blueprints.imports.routes import bp as imports
from blueprints.monitoring.routes import bp as monitoring
from blueprints.notices.routes import bp as notices
from blueprints.notifications.routes import bp as notifications
from blueprints.promises.routes import bp as promises
from blueprints.receivables.routes import bp as receivables
from blueprints.reminder_templates.routes import bp as reminder_templates
from blueprints.reminders.routes import bp as reminders
from blueprints.schedules.routes import bp as schedules
from blueprints.settings.routes import bp as settings
from blueprints.users.routes import bp as users

BLUEPRINTS = (auth, receivables, customers, collection, exports, notifications, settings, imports,
              attachments, reminder_templates, reminders, follow_up, users, account, disputes, promises,
              schedules, notices, debt_collection, monitoring)


def register_blueprints(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config.get("BENCH_ROUTES"):
        from blueprints.bench.routes import bp as bench  # only when benchmarking

        app.register_blueprint(bench)
