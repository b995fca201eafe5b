"""The `flask --app app …` commands."""
from flask import Flask


def register_commands(app: Flask) -> None:
    from commands import serve, summaries, users

    app.cli.add_command(users.users)
    app.cli.add_command(serve.serve)
    app.cli.add_command(summaries.summaries)
    for optional in ("imports", "demo"):
        try:
            module = __import__(f"commands.{optional}", fromlist=["command"])
        except ImportError:  # pragma: no cover - areas still being built
            continue
        app.cli.add_command(module.command)
