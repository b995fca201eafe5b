"""A payment schedule agreed on the phone, e-mailed to the customer from its page in Chromium: the
"Payment plan agreed" text in the customer's language to review, Send, the worker attaches the
schedule PDF, the status follows the outbox until the mail server took it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.ledger import schedules
from domain.models import CompanySettings
from tests.browser.support import expect, log_in, t
from tests.conftest import TODAY
from tests.smtp import smtp_server  # noqa: F401  (pytest fixture)


@pytest.fixture
def schedule_id(app, session, ledger_builder, users, smtp_server):  # noqa: F811
    app.config.update(SMTP_URL=smtp_server.url)
    session.add(CompanySettings(name="Relance Demo SAS", registration_number="732829320",
                                sender_email="ar@relance.test"))
    riviere = ledger_builder.customer("R001", "Rivière Traiteur", emails="compta@riviere.test", language="fr")
    one = ledger_builder.entry(riviere, 40, "1200.00", level=1, number="INV-R-1")
    two = ledger_builder.entry(riviere, 20, "300.00", level=2, number="INV-R-2")
    session.commit()
    schedule = schedules.create_schedule(session, users["finance"], riviere, [one.id, two.id],
                                         schedules.Plan("monthly", first=TODAY + timedelta(days=10), count=3))
    session.commit()
    found = schedule.id
    session.close()
    return found


def test_the_plan_is_emailed_with_its_pdf(page, schedule_id, run_jobs, smtp_server):  # noqa: F811
    log_in(page, "finance@relance.test")
    page.goto(f"/schedules/{schedule_id}")
    page.get_by_test_id("agreement-open").click()
    dialog = page.get_by_role("dialog", name=t("E-mail the payment plan — %(name)s", name="Rivière Traiteur"))
    # What goes to the customer is in the customer's language (French), whatever the interface's.
    subject = "Échéancier de paiement convenu – Relance Demo SAS, compte R001"
    expect(dialog.get_by_label(t("To"), exact=True)).to_have_value("compta@riviere.test")
    expect(dialog.get_by_label(t("Subject"))).to_have_value(subject)
    expect(dialog.get_by_label(t("Message"))).to_contain_text("en\n3 échéances")
    dialog.get_by_test_id("send-agreement").click()
    status = page.get_by_test_id("outbox-status")
    expect(status).to_be_visible()
    run_jobs()
    expect(status).to_contain_text(t("Sent to %(to)s: %(subject)s", to="compta@riviere.test", subject=subject),
                                   timeout=10_000)

    [message] = smtp_server.messages
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")
    assert "500,00" in message.get_body(("plain",)).get_content()
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
