"""Files as French and European accounting software writes them: the encoding and the separator are
found, dates and amounts are read in their common shapes, one way for the whole file, and a file
whose amounts could be read two ways asks which before anything is written."""
import pytest
from sqlalchemy import select

from domain.imports.receivables import import_file
from domain.models import Customer, Entry


@pytest.fixture
def acme(session):
    session.add(Customer(account="C001", name="Société Générale de Café"))
    session.commit()


def entries(session):
    return {e.number: (e.issue_date.isoformat(), e.due_date.isoformat(), e.amount_cents, e.open_cents)
            for e in session.scalars(select(Entry))}


def load(session, tmp_path, content: bytes, name="entries.csv", **options):
    path = tmp_path / name
    path.write_bytes(content)
    report = import_file(session, "entries", path, name, **options)
    session.commit()
    return report


@pytest.mark.parametrize("content, encoding, separator", [
    ("account;number;kind;issue_date;due_date;amount;open_amount\r\n"
     "C001;FA-0001;invoice;01/04/2026;01/05/2026;1 234,56;1 000,00\r\n"
     "C001;FA-0002;invoice;02/04/2026;02/05/2026;80,00;\r\n".encode("windows-1252"), "UTF-8", "semicolons"),
    ("account\tnumber\tkind\tissue_date\tdue_date\tamount\topen_amount\n"
     "C001\tFA-0001\tinvoice\t20260401\t20260501\t1.234,56\t1.000,00\n"
     "C001\tFA-0002\tinvoice\t20260402\t20260502\t80,00\t\n".encode("iso-8859-15"), "UTF-8", "tabs"),
    ("\ufeffaccount|number|kind|issue_date|due_date|amount|open_amount\n"
     "C001|FA-0001|invoice|01.04.2026|01.05.2026|1,234.56|1,000.00\n"
     "C001|FA-0002|invoice|02.04.2026|02.05.2026|80.00|\n".encode("utf-8"), "UTF-8 (with BOM)", "vertical bars"),
])
def test_the_shapes_of_real_exports_read_the_same(session, tmp_path, acme, content, encoding, separator):
    report = load(session, tmp_path, content)
    assert report.ok, report.errors
    assert (report.encoding, report.separator) == (encoding, separator)
    assert entries(session) == {"FA-0001": ("2026-04-01", "2026-05-01", 123456, 100000),
                                "FA-0002": ("2026-04-02", "2026-05-02", 8000, 8000)}


def test_latin_text_is_read_in_its_own_encoding(session, tmp_path):
    for encoding, label, first in (("windows-1252", "Windows-1252", 2), ("iso-8859-15", "ISO-8859-15", 4)):
        path = tmp_path / "customers.csv"
        path.write_bytes(f"account;name\nC00{first};Bœuf & Cie, Café\nC00{first + 1};Société € 1\n".encode(encoding))
        report = import_file(session, "customers", path, "customers.csv")
        session.commit()
        assert report.ok and report.encoding == label
        names = {c.account: c.name for c in session.scalars(select(Customer))}
        assert (names[f"C00{first}"], names[f"C00{first + 1}"]) == ("Bœuf & Cie, Café", "Société € 1")


def test_a_file_whose_amounts_could_be_read_two_ways_asks_which(session, tmp_path, acme):
    content = (b"account,number,kind,issue_date,due_date,amount\n"
               b"C001,FA-1,invoice,2026-04-01,2026-05-01,\"1,234\"\n")
    report = load(session, tmp_path, content)
    assert report.decimal_mark_needed and not report.ok
    assert str(report.errors[0]) == ("line 2, column amount: '1,234' could mean thousands or decimals: choose whether "
                                     "this file's decimal mark is a point or a comma")
    assert entries(session) == {}
    as_comma = load(session, tmp_path, content, decimal_mark=",")
    assert [str(e) for e in as_comma.errors] == ["line 2, column amount: '1,234' has more than 2 decimals"]
    assert load(session, tmp_path, content, decimal_mark=".").ok
    assert entries(session)["FA-1"][2] == 123400


def test_a_file_writing_its_amounts_two_ways_is_refused(session, tmp_path, acme):
    report = load(session, tmp_path, b"account;number;kind;issue_date;due_date;amount\n"
                                     b"C001;FA-1;invoice;2026-04-01;2026-05-01;1.234,56\n"
                                     b"C001;FA-2;invoice;2026-04-01;2026-05-01;1,234.56\n")
    assert [str(e) for e in report.errors] == [
        "line 3, column amount: '1,234.56' is not written like '1.234,56' on line 2: a file writes all its "
        "amounts one way",
        "line 3, column amount: '1,234.56' has more than 2 decimals"]  # read as the file's first lines are
    assert entries(session) == {}


def test_the_check_shows_the_first_lines_as_they_will_be_imported(session, tmp_path, acme):
    report = load(session, tmp_path, "account;number;kind;issue_date;due_date;amount\n"
                                     "C001;FA-1;invoice;31/03/2026;30/04/2026;1 234,50\n".encode(), dry_run=True)
    assert report.ok and report.decimal_mark == ","
    assert report.preview == [{"account": "C001", "number": "FA-1", "kind": "invoice", "issue_date": "2026-03-31",
                               "due_date": "2026-04-30", "amount": "1234.50"}]
    assert entries(session) == {}
