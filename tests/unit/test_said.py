"""A sentence Relance stores (a history line, a notification…) is kept as its message id and values,
and each reader gets it in their own language: words from the catalogue, money and dates in their locale."""
from __future__ import annotations

from datetime import date

from flask_babel import force_locale

from domain import i18n
from domain.i18n import Joined, Money, Number, Said, lazy_pgettext, nsay, say
from domain.models import AuditEvent


def test_a_said_is_read_in_each_readers_language_and_format(app):
    sentence = say("Reminders stopped for entry %(number)s until %(until)s", number="INV-7", until=date(2026, 7, 1))
    with app.test_request_context():
        with force_locale("fr_FR"):
            assert str(sentence) == "Stop relance posé sur l’écriture INV-7 jusqu’au 01/07/2026"
        with force_locale("en_GB"):
            assert str(sentence) == "Reminders stopped for entry INV-7 until 01/07/2026"
        with force_locale("en_US"):
            assert str(sentence) == "Reminders stopped for entry INV-7 until 7/1/26"
        with force_locale("fr_FR"):
            assert sentence.english() == "Reminders stopped for entry INV-7 until 01/07/2026"


def test_a_said_survives_being_stored_with_every_kind_of_value(app):
    label = lazy_pgettext("case status", "Open")
    sentence = say("%(amount)s — %(count)s — %(status)s — %(list)s — %(inner)s — #%(id)s", amount=Money(123456, "EUR"),
                   count=Number(100000), status=label, id=12345,
                   list=Joined([say("Entry %(number)s disputed", number="A"), "typed; by a person"], " / "),
                   inner=nsay("%(num)d day", "%(num)d days", 3))
    kept = Said.loads(sentence.dumps())
    assert kept == sentence
    with app.test_request_context(), force_locale("fr_FR"):
        shown = str(kept).replace("\u202f", " ").replace("\u00a0", " ")
    assert shown == ("1 234,56 € — 100 000 — Ouverte — Écriture A en litige / typed; by a person — 3 jours — #12345")


def test_a_record_keeps_english_beside_the_said_and_shows_the_readers_language(app, session):
    event = AuditEvent(action="x")
    with app.test_request_context(), force_locale("fr_FR"):
        event.shown_detail = say("Entry %(number)s disputed", number="INV-2")  # written by a French user
        assert event.shown_detail == "Écriture INV-2 en litige"
    assert event.detail == "Entry INV-2 disputed"  # the command line, search and exports read English
    with app.test_request_context(), force_locale("en_GB"):
        assert event.shown_detail == "Entry INV-2 disputed"

    event.shown_detail = "typed by a person"  # not a sentence of Relance's: kept as written, for everyone
    assert (event.detail, event.detail_i18n) == ("typed by a person", None)
    with app.test_request_context(), force_locale("fr_FR"):
        assert event.shown_detail == "typed by a person"


def test_a_line_from_before_or_a_damaged_one_still_reads(app):
    assert i18n.shown("Entry A disputed", None) == "Entry A disputed"  # written before sentences were kept
    assert i18n.shown("Entry A disputed", "{not json") == "Entry A disputed"
    broken = Said("Entry %(number)s disputed", {}).dumps()  # a value gone missing
    assert i18n.shown("Entry A disputed", broken) == "Entry A disputed"


def test_an_errors_sentence_is_kept_not_its_translation(app):
    error = ValueError(say("Entry %(number)s disputed", number="B"))
    with app.test_request_context(), force_locale("fr_FR"):
        assert str(error) == "Écriture B en litige"
        text, stored = i18n.kept(error)
    assert text == "Entry B disputed" and Said.loads(stored) == say("Entry %(number)s disputed", number="B")


def test_a_moment_keeps_its_time_in_the_readers_format(app):
    from datetime import datetime

    sentence = Said.loads(say("of %(at)s", at=datetime(2026, 6, 15, 10, 32, 11)).dumps())
    with app.test_request_context():
        with force_locale("fr_FR"):
            assert str(sentence) == "of 15/06/2026 10:32"
        with force_locale("en_US"):
            assert str(sentence).replace("\u202f", " ") == "of 6/15/26, 10:32 AM"


def test_a_cleared_text_shows_nothing_not_its_old_sentence(app):
    from domain.models import OutboxMessage

    message = OutboxMessage()
    message.shown_last_error = say("Entry %(number)s disputed", number="C")
    message.last_error = None  # a send that went after all clears its error
    with app.test_request_context(), force_locale("fr_FR"):
        assert message.shown_last_error is None
