"""Files with headers of their own ("N° facture", "Date d'échéance", "Montant TTC"): the import asks
which header holds each column, with a first guess, and remembers the choice for the next file."""
from __future__ import annotations

from sqlalchemy import select

from domain.imports.receivables import import_file
from domain.models import AuditEvent, Customer, Entry, ImportMapping

FRENCH = ("Code client;N° facture;Type;Date facture;Date d'échéance;Montant TTC;Reste dû\r\n"
          "C001;FA-0001;Facture;01/04/2026;01/05/2026;1 234,56;1 000,00\r\n"
          "C001;AV-0001;Avoir;02/04/2026;02/04/2026;80,00;\r\n").encode("windows-1252")
MAPPING = {"account": "Code client", "number": "N° facture", "kind": "Type", "issue_date": "Date facture",
           "due_date": "Date d'échéance", "amount": "Montant TTC", "open_amount": "Reste dû"}


def load(session, tmp_path, content: bytes, **options):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    report = import_file(session, "entries", path, "export.csv", **options)
    session.commit() if report.written else session.rollback()
    return report


def test_foreign_headers_ask_for_a_mapping_with_a_first_guess(session, tmp_path):
    session.add(Customer(account="C001", name="Café Martin"))
    session.commit()
    report = load(session, tmp_path, FRENCH)

    assert report.mapping_needed and not report.ok
    assert report.headers == ["Code client", "N° facture", "Type", "Date facture", "Date d'échéance", "Montant TTC",
                              "Reste dû"]
    assert report.guesses == MAPPING
    assert session.scalars(select(Entry)).all() == []


def test_the_mapping_chosen_imports_the_file_and_is_remembered_for_the_next_one(session, tmp_path):
    session.add(Customer(account="C001", name="Café Martin"))
    session.commit()
    checked = load(session, tmp_path, FRENCH, mapping=MAPPING, dry_run=True)
    assert checked.ok and checked.preview[0]["number"] == "FA-0001"
    assert session.get(ImportMapping, "entries") is None  # a check remembers nothing

    imported = load(session, tmp_path, FRENCH, mapping=MAPPING)
    assert imported.ok, imported.errors
    assert {e.number: (e.kind, e.amount_cents, e.open_cents) for e in session.scalars(select(Entry))} == \
        {"FA-0001": ("invoice", 123456, 100000), "AV-0001": ("credit_note", 8000, 8000)}
    assert session.get(ImportMapping, "entries").columns == MAPPING

    # Next month's export of the same software: read the same way without asking.
    again = load(session, tmp_path, FRENCH.replace(b"FA-0001;Facture", b"FA-0002;Facture"))
    assert again.ok and again.mapping_remembered and again.mapping == MAPPING
    assert session.scalar(select(Entry).where(Entry.number == "FA-0002")) is not None
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "import.entries")) is not None


def test_a_mapping_to_a_header_the_file_lacks_or_used_twice_is_an_error(session, tmp_path):
    report = load(session, tmp_path, FRENCH, mapping={**MAPPING, "amount": "Total", "open_amount": "Montant TTC"})
    assert [str(error) for error in report.errors][:1] == ["line 1, column amount: the file has no column 'Total'"]
    report = load(session, tmp_path, FRENCH, mapping={**MAPPING, "open_amount": "Montant TTC"})
    assert "line 1, column open_amount: 'Montant TTC' is already read as amount" in map(str, report.errors)


def test_the_command_line_takes_the_mapping(app, session, tmp_path):
    session.add(Customer(account="C001", name="Café Martin"))
    session.commit()
    path = tmp_path / "export.csv"
    path.write_bytes(FRENCH)
    runner = app.test_cli_runner()
    asked = runner.invoke(args=["import", "entries", str(path)])
    assert asked.exit_code == 1 and "--column number='N° facture'" in asked.output
    columns = [argument for column, header in MAPPING.items() for argument in ("--column", f"{column}={header}")]
    done = runner.invoke(args=["import", "entries", str(path), *columns])
    assert done.exit_code == 0, done.output
    assert "Columns as given: 'Code client' -> account" in done.output
