"""End-to-end tests in Chromium, driven by Playwright's sync API against a live server.

Chromium is Debian's (`apt-get install chromium`), at RELANCE_CHROMIUM (default /usr/bin/chromium);
`playwright install` is never needed. Without it every test here is skipped, unless
RELANCE_REQUIRE_BROWSER=1 (CI), where they fail saying what is missing.

The server is the real app with CSRF on, in a thread of this process, on the same database and
Redis as the rest of the fixture chain; `domain.clock.pin` is process-global, so it sees the
pinned day too.

Every test that uses `page` runs twice, in English then in French (the `language` fixture): the
browser asks for that language and the app answers in it; support.t() gives what the page says.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.browser.support import (
    BROWSER_LOCALES,
    LANGUAGES,
    PlaywrightError,
    seed_ledger,
    sync_playwright,
    use_language,
)

CHROMIUM = os.environ.get("RELANCE_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("RELANCE_REQUIRE_BROWSER") == "1"
# The machine's network is closed: without these Chromium stalls on start-up and on its own calls.
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 5_000  # every wait of a test (actions and expect); a passing test takes well under it
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _missing() -> str | None:
    if sync_playwright is None:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"Chromium is not at {CHROMIUM} (install it with `apt-get install chromium`, "
                "or point RELANCE_CHROMIUM at it)")
    return None


@pytest.fixture(scope="session", autouse=True)
def _chromium_available():
    """Runs before any other fixture of these tests, so a skip costs no database set-up."""
    missing = _missing()
    if missing and REQUIRED:
        pytest.fail(f"RELANCE_REQUIRE_BROWSER=1 but {missing}.", pytrace=False)
    if missing:
        pytest.skip(f"browser tests skipped: {missing}")


@pytest.fixture(scope="session")
def browsers(_chromium_available):
    """browsers(language): one Chromium per interface language, started when a test first needs it.
    Its own language comes from LANGUAGE (on Linux, not --lang nor the context's locale): it draws
    the date inputs, dd/mm/yyyy in en_GB, jj/mm/aaaa in fr_FR (Debian's chromium-l10n has the French)."""
    playwright = sync_playwright().start()
    started = {}

    def browser_for(language: str):
        if language not in started:
            env = {**os.environ, "LANGUAGE": BROWSER_LOCALES[language].replace("-", "_")}
            try:
                started[language] = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, env=env,
                                                               timeout=30_000)
            except PlaywrightError as error:
                pytest.fail(f"Chromium at {CHROMIUM} did not start: {error}", pytrace=False)
        return started[language]

    yield browser_for
    for browser in started.values():
        browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def browser(browsers):
    """The English Chromium, for a test that opens contexts of its own (the `page` fixture's speaks
    the test's language)."""
    return browsers("en")


@pytest.fixture
def app_config(app_config):
    """tests/conftest.py's app configuration, but with CSRF protection on, as in production."""
    return {**app_config, "WTF_CSRF_ENABLED": True}


class _InFlight:
    """WSGI middleware counting requests being served, so the server stops only when idle (a
    request still running would hold a database connection past the test)."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.count, self.idle = wsgi_app, 0, threading.Condition()

    def __call__(self, environ, start_response):
        from werkzeug.wsgi import ClosingIterator

        with self.idle:
            self.count += 1
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(body, [self._done])

    def _done(self):
        with self.idle:
            self.count -= 1
            self.idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.count == 0, timeout)


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free port, in a background thread; yields its base URL."""
    from werkzeug.serving import make_server

    counted = _InFlight(app.wsgi_app)
    app.wsgi_app = counted
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    counted.wait_idle(timeout=10)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(params=LANGUAGES)
def language(request):
    """Every browser test runs once per interface language: "en", then "fr". support.t() and its
    twins answer in it while the test runs."""
    use_language(request.param)
    yield request.param
    use_language("en")


@pytest.fixture
def page(request, browsers, live_server, language):
    """A fresh browser context (no cookies) per test, in the test's language (the browser's locale,
    so its Accept-Language). Uncaught JavaScript errors fail the test. A test module may add
    options of its own to the context: CONTEXT_OPTIONS = {...}."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browsers(language).new_context(base_url=live_server, locale=BROWSER_LOCALES[language],
                                  viewport={"width": 1400, "height": 900},
                                  **getattr(request.module, "CONTEXT_OPTIONS", {}))
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Confirmations are the app's own dialogs (support.answer_confirmation): a browser box is a bug.
    page.on("dialog", lambda box: (errors.append(f"the browser's own {box.type} box: {box.message}"), box.dismiss()))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def ledger(session, ledger_builder, users):
    """Five customers at various levels and ages; one entry in collection with reminders stopped."""
    return seed_ledger(session, ledger_builder, users)


@pytest.fixture
def run_queued_jobs(app, redis_url):
    """Runs what is queued, in this process, with the live server's app (as worker.py would)."""
    from rq import SimpleWorker

    import jobs.base

    jobs.base.use_app(app)
    queue = jobs.base.queue(app)
    queue.empty()

    def run() -> None:
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    yield run
    queue.empty()
    jobs.base.use_app(None)
