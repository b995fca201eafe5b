"""Every page of the app, once in English and once in French (the `language` fixture), on the demo
ledger: a full-page screenshot of each saved under .ci/screens/<language>/<name>.png (git-ignored;
CI keeps them for a reviewer to look at), and axe-core's accessibility check run on each, and on a
few dialogs opened: any violation of impact "serious" or "critical" fails the test, every one listed.
Every violation found (of any impact) is also written to .ci/screens/<language>/axe.txt.

axe-core comes from npm (package.json's devDependencies, installed by `make install`). The app's
Content-Security-Policy refuses any script that is not its own, so these pages are opened in a
browser context that bypasses it (CONTEXT_OPTIONS); test_content_security.py checks the policy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from domain import clock
from tests.browser.support import BROWSER_LOCALES, expect, log_in, t

CONTEXT_OPTIONS = {"bypass_csp": True}  # the conftest's `page` fixture opens its context with these
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = ROOT / ".ci" / "screens"
FAILING_IMPACTS = ("serious", "critical")

# Runs axe on the whole document; what comes back is plain data (rule, impact, help, the elements).
RUN_AXE = r"""async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.map(String).join(" "), html: n.html.slice(0, 160),
                                summary: (n.failureSummary || "").replace(/\s+/g, " ")})),
  }));
}"""


@dataclass(frozen=True)
class Demo:
    """Ids of demo rows the pages show (plain values: the live server writes meanwhile)."""

    account: str  # a customer with entries in collection, disputed or promised: a busy account status
    case_id: int
    dispute_id: int
    schedule_id: int
    activity_id: int
    agency_id: int | None


@pytest.fixture
def demo(app, session, users, ledger_builder) -> Demo:
    """The demo ledger (`flask demo`), small: 30 customers, 400 entries, no invoice PDFs; and what
    the demo may have none of: a payment schedule, a collection agency, a follow-up plan, a monitoring
    point, a notification."""
    from datetime import timedelta

    from demo.generator import DemoPlan, load_demo
    from domain import monitoring
    from domain.ledger import schedules
    from domain.models import (
        CollectionAgency,
        CollectionCase,
        Customer,
        Dispute,
        Entry,
        FollowUpPlan,
        FollowUpStep,
        Notification,
        PaymentSchedule,
        ReminderActivity,
    )

    load_demo(session, DemoPlan(customers=30, entries=400, seed=7, invoice_pdfs=0),
              attachment_dir=app.config["ATTACHMENT_DIR"], render_invoice=lambda invoice: b"")
    finance = users["finance"]
    riviere = ledger_builder.customer("Z001", "Rivière Traiteur", emails="compta@riviere.test", language="fr")
    planned = [ledger_builder.entry(riviere, 40, "1200.00", level=1), ledger_builder.entry(riviere, 20, "300.00")]
    session.flush()
    schedules.create_schedule(session, finance, riviere, [entry.id for entry in planned],
                              schedules.Plan("monthly", first=clock.today() + timedelta(days=10), count=3))
    session.add(CollectionAgency(name="Cabinet Recouvre", email="dossiers@recouvre.test"))
    session.add(FollowUpPlan(name="Standard", steps=[
        FollowUpStep(offset_days=-5, channel="email", level=0), FollowUpStep(offset_days=10, channel="email", level=1),
        FollowUpStep(offset_days=30, channel="task", level=2), FollowUpStep(offset_days=45, channel="letter", level=3)]))
    session.add(Notification(user_id=finance.id, text="Your export “Who owes you what?” is ready: balances.xlsx"))
    monitoring.save(session, finance, "balances", "level=3", "R3 and above")
    busy = session.scalar(select(Customer.account).join(Entry, Entry.customer_id == Customer.id)
                          .where(Entry.in_collection.is_(True)).order_by(Customer.account).limit(1))
    found = Demo(
        account=busy,
        case_id=session.scalar(select(CollectionCase.id).order_by(CollectionCase.id).limit(1)),
        dispute_id=session.scalar(select(Dispute.id).order_by(Dispute.id).limit(1)),
        schedule_id=session.scalar(select(PaymentSchedule.id).order_by(PaymentSchedule.id).limit(1)),
        activity_id=session.scalar(select(ReminderActivity.id).order_by(ReminderActivity.id.desc()).limit(1)),
        agency_id=session.scalar(select(CollectionAgency.id).order_by(CollectionAgency.id).limit(1)),
    )
    assert None not in (found.account, found.case_id, found.dispute_id, found.schedule_id, found.activity_id), found
    session.commit()
    session.close()
    return found


def finance_pages(demo: Demo) -> list[tuple[str, str]]:
    """(name of the screenshot, URL): every page a finance user opens from the menu, and the pages
    of one thing (an account, a case, a dispute…)."""
    return [
        ("who-owes", "/"),
        ("due-dates", "/due-dates"),
        ("customers", "/customers"),
        ("customer-new", "/customers/new"),
        ("account-status", f"/customers/{demo.account}"),
        ("customer-edit", f"/customers/{demo.account}/edit"),
        ("statement", f"/customers/{demo.account}/statement"),
        ("disputes", "/disputes"),
        ("dispute", f"/disputes/{demo.dispute_id}"),
        ("promises", "/promises"),
        ("schedules", "/schedules"),
        ("schedule", f"/schedules/{demo.schedule_id}"),
        ("collection", "/collection/"),
        ("collection-case", f"/collection/cases/{demo.case_id}"),
        ("debt-collection-automatic", "/debt-collection?tab=automatic"),
        ("debt-collection-manual", "/debt-collection?tab=manual"),
        ("monitoring", "/monitoring"),
        ("exports", "/exports/"),
        ("follow-up-plans", "/follow-up/"),
        ("deliveries", "/reminders/deliveries"),
        ("bulk-runs", "/reminders/bulk"),
        ("reminder-sent", f"/reminders/activities/{demo.activity_id}"),
        ("import", "/imports/"),
        ("attachments-upload", "/attachments/upload"),
        ("my-account", "/account/"),
        ("notifications", "/notifications/"),
        ("search-results", "/search?q=SARL"),
    ]


def admin_pages(demo: Demo) -> list[tuple[str, str]]:
    pages = [
        ("settings", "/settings/"),
        ("users", "/settings/users/"),
        ("reminder-templates", "/settings/templates/"),
        ("reminder-template", "/settings/templates/email/R1/en"),
        ("agencies", "/settings/agencies"),
    ]
    if demo.agency_id is not None:
        pages.append(("agency-edit", f"/settings/agencies/{demo.agency_id}/edit"))
    return pages


class Checker:
    """Screenshots and axe runs of one language; what axe found, kept for the end of the test."""

    def __init__(self, page, language: str):
        self.page, self.language = page, language
        self.folder = SCREENS / language
        self.folder.mkdir(parents=True, exist_ok=True)
        self.found: list[str] = []  # every violation, for axe.txt
        self.failing: list[str] = []  # the serious and critical ones

    def check(self, name: str) -> None:
        """The page as it is now: wait for its load-time fragments, screenshot it, run axe on it."""
        page = self.page
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        if not page.evaluate("typeof window.axe === 'object'"):
            page.add_script_tag(path=str(AXE))
        for violation in page.evaluate(RUN_AXE):
            targets = "; ".join(node["target"] for node in violation["nodes"][:10])
            more = len(violation["nodes"]) - 10
            first = violation["nodes"][0] if violation["nodes"] else {"html": "", "summary": ""}
            line = (f"{self.language} {name} ({page.url}): {violation['id']} [{violation['impact']}] "
                    f"{violation['help']} — {targets}{f' (and {more} more)' if more > 0 else ''}"
                    f"\n    first: {first['html']}\n    {first['summary']}")
            self.found.append(line)
            if violation["impact"] in FAILING_IMPACTS:
                self.failing.append(line)

    def visit(self, name: str, url: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response and response.status)
        self.check(name)

    def report(self, part: str) -> None:
        """Writes what axe found into axe.txt (each test of the module adds its part) and fails on
        a serious or critical violation."""
        with open(self.folder / "axe.txt", "a", encoding="utf-8") as out:
            out.write(f"# {part}: {len(self.found)} violations, {len(self.failing)} serious or critical\n")
            out.writelines(line + "\n" for line in self.found)
        assert not self.failing, ("axe-core found serious or critical violations (rule [impact] help — elements):\n"
                                  + "\n".join(self.failing))


@pytest.fixture
def checker(page, language):
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make install` (npm ci)", pytrace=False)
    return Checker(page, language)


@pytest.fixture(scope="module", autouse=True)
def _fresh_axe_reports():
    """axe.txt holds this run's findings only."""
    for language_folder in SCREENS.glob("*"):
        (language_folder / "axe.txt").unlink(missing_ok=True)


def test_every_page_logged_out_then_as_finance(page, demo, checker, language):
    checker.visit("login", "/login")
    checker.visit("not-found", "/no-such-page", status=404)  # an unknown address is a 404, logged in or not
    log_in(page, "finance@relance.test")
    checker.visit("not-found-logged-in", "/customers/NO-SUCH-ACCOUNT", status=404)
    for name, url in finance_pages(demo):
        checker.visit(name, url)
    checker.report("finance pages")


def test_every_admin_page(page, demo, checker, language):
    log_in(page, "admin@relance.test")
    for name, url in admin_pages(demo):
        checker.visit(name, url)
    checker.report("admin pages")


def test_dialogs_open_on_an_account_status(page, demo, checker, language):
    """A few of the app's own dialogs, checked while open (the page behind is inert)."""
    log_in(page, "finance@relance.test")
    page.goto(f"/customers/{demo.account}")
    page.get_by_test_id("open-payment").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    checker.check("dialog-record-a-payment")
    page.get_by_role("dialog").get_by_role("button", name=t("Cancel")).click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_test_id("new-entry").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    checker.check("dialog-new-entry")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_test_id("bell").click()
    expect(page.get_by_role("dialog", name=t("Notifications"))).to_be_visible()
    checker.check("bell-menu")
    checker.report("dialogs")


def test_a_date_input_speaks_the_browsers_language(page, browsers, demo, language):
    """Chromium draws <input type=date> in its own language (not the page's, nor the context's
    locale): dd/mm/yyyy in en_GB, jj/mm/aaaa in fr_FR. The screenshots (date-input*.png) show it;
    the input's value stays ISO whatever is shown."""
    bare = browsers(language).new_context()  # no locale of its own: navigator.language is Chromium's own
    try:
        own = bare.new_page().evaluate("navigator.language")
    finally:
        bare.close()
    assert own == BROWSER_LOCALES[language], (
        f"Chromium speaks {own}, not {BROWSER_LOCALES[language]}: its date inputs would not be in the "
        "browser's language (LANGUAGE is set by the conftest; Debian's chromium-l10n has the translations)")
    log_in(page, "finance@relance.test")
    page.goto("/due-dates")
    form = page.locator("form.filters")
    due_from = form.locator("input[type=date][name=from]")
    expect(due_from).to_be_visible()
    assert page.evaluate("navigator.language") == BROWSER_LOCALES[language]
    (SCREENS / language).mkdir(parents=True, exist_ok=True)
    form.screenshot(path=str(SCREENS / language / "date-input.png"))
    due_from.fill("2026-06-01")
    expect(due_from).to_have_value("2026-06-01")
    form.screenshot(path=str(SCREENS / language / "date-input-filled.png"))
