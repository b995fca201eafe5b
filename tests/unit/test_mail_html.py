"""E-mails to customers go as multipart: the plain text, and an HTML part with the same words, the entries
as a real table, hand-wrapped prose flowing; letters' paragraphs flow the same way."""
from __future__ import annotations

from email import message_from_bytes, policy

import jobs.base
import jobs.reminders
from domain.models import CompanySettings
from domain.reminders import outbox
from domain.reminders import templates as rt
from mail.html import email_html, flowed, paragraphs

BODY = """\
Hello Ms Martin,

Our records show that the following invoices are now past their due date. It may simply have
slipped through the net:

Invoice                Issued      Due         Amount      Open  Days overdue
---------------------  ----------  ----------  ---------  ------  ------------
INV-1                  01/04/2026  01/05/2026    €100.00  €100.00            45
CN-2 (credit note)     02/05/2026  02/06/2026    -€20.00  -€20.00
<script>alert(1)</script>  03/05/2026  03/06/2026  €1.00  €1.00  1

Kind regards,

Camille Durand
Acme SARL
a.very.long.address.of.the.accounts.receivable.department@subsidiary.acme-sarl.example"""


def test_hand_wrapped_prose_flows_and_short_lines_keep_their_break():
    assert flowed("Our records show that the following invoices are now past their due date. It\nmay slip.") == \
        "Our records show that the following invoices are now past their due date. It may slip."
    assert flowed("Camille Durand\nAcme SARL") == "Camille Durand<br>\nAcme SARL"
    assert flowed("x" * 70 + ":\n- INV-1") == "x" * 70 + ":<br>\n- INV-1"  # a list announced stays a list


def test_the_entries_table_becomes_a_real_table_and_nothing_is_markup():
    blocks = paragraphs(BODY)
    table = next(block for block in blocks if block.startswith("<table"))
    assert table.count("<tr>") == 4 and table.count('<th scope="col"') == 6
    assert ">INV-1</td>" in table and ">CN-2 (credit note)</td>" in table
    assert "text-align:right;white-space:nowrap\">€100.00</td>" in table  # amounts stay right-aligned
    assert "<script>" not in "".join(blocks) and "&lt;script&gt;" in "".join(blocks)
    assert any("past their due date. It may simply have slipped" in block for block in blocks)


def test_the_html_part_is_a_whole_document_in_the_customers_language():
    html = email_html(BODY, subject="Relance <urgent>", language="fr")
    assert html.startswith("<!doctype html>") and '<html lang="fr">' in html
    assert "<title>Relance &lt;urgent&gt;</title>" in html and "overflow-wrap:anywhere" in html


def test_a_reminder_goes_as_text_and_html_with_the_same_words(session, ledger_builder, users, app, smtp_server):
    session.add(CompanySettings(name="Acme SARL", sender_email="billing@acme-sarl.test"))
    customer = ledger_builder.customer("C1", "Bistro du Port", emails="compta@bistro.test", language="fr")
    entry = ledger_builder.entry(customer, 40, "100.00", number="INV-1")
    session.commit()
    message, _ = outbox.queue_message(session, customer=customer, entries=[entry], level=1, to="compta@bistro.test",
                                      subject="Relance", body=BODY, sent_by=users["finance"], dedupe_key="k")
    session.commit()
    app.config["SMTP_URL"] = smtp_server.url
    jobs.base.use_app(app)
    try:
        assert jobs.reminders.send_outbox_message(message.id) == "sent"
    finally:
        jobs.base.use_app(None)
    (envelope,) = smtp_server.envelopes
    sent = message_from_bytes(envelope.content, policy=policy.default)
    assert sent.get_content_type() == "multipart/alternative"
    plain, html = sent.get_body(("plain",)).get_content(), sent.get_body(("html",)).get_content()
    assert "INV-1                  01/04/2026" in plain  # the plain part is the text as written
    assert '<html lang="fr">' in html and ">INV-1</td>" in html and "<table" in html


def test_letters_flow_their_paragraphs_too():
    html = str(rt.text_to_html(BODY))
    assert "past their due date. It may simply have slipped" in html and "Camille Durand<br>" in html
