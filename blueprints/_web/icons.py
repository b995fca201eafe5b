"""Icons that never depend on an emoji font: inline SVG drawing a symbol of static/vendor/icons.svg
(the Lucide icons of scripts/icons.py), with a text alternative.

    {{ icon("scale", _("In collection")) }}   a marker that means something: read out by screen readers
    {{ icon("pencil") }}                        decoration beside words that already say it: hidden
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from flask import Flask, request
from markupsafe import Markup, escape


def icon_for(app: Flask) -> Callable[..., Markup]:
    """The template global `icon` of `app` (its static path read once, not at every icon)."""
    static = app.static_url_path

    def icon(name: str, label: str | None = None, css: str = "") -> Markup:
        return _svg(f"{request.script_root}{static}", name, str(label) if label else "", css)

    return icon


@lru_cache(maxsize=1024)
def _svg(static: str, name: str, label: str, css: str) -> Markup:
    # A table draws the same few markers on every row: each distinct one is built once.
    sprite = f"{static}/vendor/icons.svg#{escape(name)}"
    classes = f"icon {escape(css)}".strip()
    if label:
        return Markup(f'<svg class="{classes}" role="img" aria-label="{escape(label)}" focusable="false">'
                      f'<use href="{sprite}"></use></svg>')
    return Markup(f'<svg class="{classes}" aria-hidden="true" focusable="false"><use href="{sprite}"></use></svg>')
