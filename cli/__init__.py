"""The `flask --app app …` commands: one module per group, listed once below.

What they print for a person speaks the instance's language (RELANCE_LOCALE); their help too, hence
`Option` for an option with a help text (lazy_gettext), and `number` for a count in a sentence."""
import click
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import get_locale


class Option(click.Option):
    """A click option whose help is translated when the help is shown: click would turn a lazy
    text into a str at import time, before any language is known."""

    def __init__(self, *args, help=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.help = help

    def get_help_record(self, ctx):
        record = super().get_help_record(ctx)
        return None if record is None else (record[0], str(record[1]))


def number(value, pattern: str | None = None) -> str:
    """A count (1,234) or a duration (12.5) as the instance's locale writes it."""
    return format_decimal(value, pattern, locale=str(get_locale() or "en_GB"))


def register_commands(app: Flask) -> None:
    from cli.demo import command as demo
    from cli.imports import command as imports
    from cli.reminders import command as reminders
    from cli.serve import serve
    from cli.summaries import summaries
    from cli.users import users

    for command in (users, serve, summaries, imports, demo, reminders):
        app.cli.add_command(command)
