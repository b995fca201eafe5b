"""The `flask --app app …` commands."""
from importlib import import_module

from flask import Flask

GROUPS = ("users", "serve", "summaries", "imports", "demo", "reminders")


def register_commands(app: Flask) -> None:
    for name in GROUPS:
        module = import_module(f"commands.{name}")
        # Each module names its click command after itself, or `command` when the name is a keyword.
        app.cli.add_command(getattr(module, name, None) or module.command)
