"""One blueprint per area of the screen. Thin: parse input, call the domain, render."""
from importlib import import_module

from flask import Flask

CORE = ("auth", "receivables", "customers", "exports")
# Areas that register themselves when their package is present.
OPTIONAL = ("imports", "collection", "notifications", "settings", "documents")


def register_blueprints(app: Flask) -> None:
    for name in CORE:
        app.register_blueprint(import_module(f"blueprints.{name}").bp)
    for name in OPTIONAL:
        try:
            module = import_module(f"blueprints.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"blueprints.{name}":
                raise
            continue
        app.register_blueprint(module.bp)
    if app.config.get("BENCH_ROUTES"):
        app.register_blueprint(import_module("blueprints.bench").bp)
