"""One blueprint per area of the screen. Thin: parse input, call the domain, render."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from blueprints.auth import bp as auth
    from blueprints.customers import bp as customers
    from blueprints.exports import bp as exports
    from blueprints.receivables import bp as receivables

    for blueprint in (auth, receivables, customers, exports):
        app.register_blueprint(blueprint)
    try:
        from blueprints.imports import bp as imports
    except ImportError:  # pragma: no cover - the imports area is optional while it is built
        imports = None
    if imports is not None:
        app.register_blueprint(imports)
    if app.config.get("BENCH_ROUTES"):
        from blueprints.bench import bp as bench

        app.register_blueprint(bench)
