"""One blueprint per area of the screen. Thin: parse input, call the domain, render."""
from importlib import import_module

from flask import Flask

AREAS = ("auth", "receivables", "customers", "collection", "exports", "notifications", "settings", "imports",
         "documents", "reminder_templates", "reminders", "follow_up", "users", "account")


def register_blueprints(app: Flask) -> None:
    for name in AREAS:
        app.register_blueprint(import_module(f"blueprints.{name}").bp)
    if app.config.get("BENCH_ROUTES"):
        app.register_blueprint(import_module("blueprints.bench").bp)
