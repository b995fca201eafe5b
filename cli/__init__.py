"""The `flask --app app …` commands: one module per group, listed once below."""
from flask import Flask


def register_commands(app: Flask) -> None:
    from cli.demo import command as demo
    from cli.imports import command as imports
    from cli.reminders import command as reminders
    from cli.serve import serve
    from cli.summaries import summaries
    from cli.users import users

    for command in (users, serve, summaries, imports, demo, reminders):
        app.cli.add_command(command)
