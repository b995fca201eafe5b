"""The web layer's shared pieces, used by every blueprint: views.py (page or fragment, 404s,
permissions), events.py (htmx event names), layer.py (installed on the app: login, headers, error
pages, template filters)."""
