"""Export to Excel of the filtered view: queued in real Redis, built by an RQ worker, polled, downloaded."""
import io
import re

import pytest
from openpyxl import load_workbook

import jobs.base
import jobs.exports
from domain.models import Export
from tests.conftest import login


@pytest.fixture
def ledger(session, ledger_builder):
    acme = ledger_builder.customer("C001", "Acme Industries")
    ledger_builder.entry(acme, 120, "900.10", level=5)
    bistro = ledger_builder.customer("C002", "Bistro du Port")
    ledger_builder.entry(bistro, 10, "250.00", level=1)
    session.commit()


def export_id_of(html: str) -> int:
    return int(re.search(r'id="export-(\d+)"', html).group(1))


def test_export_of_the_filtered_view_is_built_in_the_worker(finance_client, ledger, run_jobs, session):
    response = finance_client.post("/exports/balances", data={"level": "5"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Export queued" in html and 'hx-trigger="load delay:1s"' in html, "the status fragment polls"
    export_id = export_id_of(html)

    run_jobs()

    status = finance_client.get(f"/exports/{export_id}/status").get_data(as_text=True)
    assert "Ready" in status
    assert "hx-get" not in status, "a final status no longer polls"
    download = finance_client.get(f"/exports/{export_id}/download")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(download.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    accounts = [row[0] for row in rows[2:]]
    assert accounts == ["C001"], "only the filtered view (R5+) is exported"
    assert float(rows[2][8]) == pytest.approx(900.10) and rows[2][9] == "R5"


def test_double_click_makes_one_export(finance_client, ledger, run_jobs, session):
    first = export_id_of(finance_client.post("/exports/balances", data={}).get_data(as_text=True))
    second = export_id_of(finance_client.post("/exports/balances", data={}).get_data(as_text=True))
    assert first == second
    assert session.query(Export).count() == 1
    assert len(jobs.base.queue().job_ids) == 1


def test_another_user_cannot_see_or_download_an_export(client, users, ledger, run_jobs):
    login(client, "finance@relance.test")
    export_id = export_id_of(client.post("/exports/balances", data={}).get_data(as_text=True))
    run_jobs()
    client.post("/logout")
    login(client, "support@relance.test")
    assert client.get(f"/exports/{export_id}/download").status_code == 404
    assert client.get(f"/exports/{export_id}/status").status_code == 404
    client.post("/logout")
    login(client, "admin@relance.test")
    assert client.get(f"/exports/{export_id}/download").status_code == 200, "an admin may download any export"


def test_failed_export_shows_the_reason_and_retry_works(finance_client, ledger, run_jobs, session, monkeypatch):
    def broken(export):
        raise OSError("disk full")

    monkeypatch.setitem(jobs.exports.BUILDERS, "balances_xlsx", broken)
    export_id = export_id_of(finance_client.post("/exports/balances", data={}).get_data(as_text=True))
    run_jobs()
    status = finance_client.get(f"/exports/{export_id}/status").get_data(as_text=True)
    assert "failed" in status and "disk full" in status and "Retry" in status
    assert "hx-trigger" not in status

    monkeypatch.undo()
    retried = finance_client.post(f"/exports/{export_id}/retry").get_data(as_text=True)
    assert "queued" in retried
    run_jobs()
    assert "Ready" in finance_client.get(f"/exports/{export_id}/status").get_data(as_text=True)


def test_exports_page_lists_the_users_exports(finance_client, ledger, run_jobs):
    finance_client.post("/exports/balances", data={})
    run_jobs()
    html = finance_client.get("/exports/").get_data(as_text=True)
    assert "Who owes you what? (Excel)" in html and "Ready" in html


def test_export_with_a_bad_filter_is_refused(finance_client, ledger, session):
    response = finance_client.post("/exports/balances", data={"level": "12"})
    assert response.status_code == 400
    assert session.query(Export).count() == 0


def test_an_export_speaks_the_browsers_language_of_a_user_who_chose_none(finance_client, ledger, run_jobs, session):
    """A user who left My account → Language on "Your browser's language" asks from a French browser: the file,
    its name and its sheet are French, as the page that asked for it was (the worker has no browser to ask)."""
    from domain.models import User

    user = session.query(User).filter_by(email="finance@relance.test").one()
    assert user.language is None
    french = {"HX-Request": "true", "Accept-Language": "fr-FR,fr;q=0.9"}
    export_id = export_id_of(finance_client.post("/exports/balances", data={}, headers=french).get_data(as_text=True))
    run_jobs()

    download = finance_client.get(f"/exports/{export_id}/download", headers=french)
    assert download.status_code == 200
    assert "Qui vous doit quoi" in download.headers["Content-Disposition"]
    heading = load_workbook(io.BytesIO(download.data)).active.cell(1, 1).value
    assert heading.startswith("Qui vous doit quoi") and "15/06/2026" in heading


def test_a_failure_relance_explains_is_read_in_each_readers_language(finance_client, ledger, run_jobs,
                                                                     monkeypatch):
    """What Relance says when a file cannot be built (its customer gone…) is its own sentence, read in the
    reader's language — not an English line with a Python class name in front."""
    from domain.i18n import say

    def gone(export):
        raise LookupError(say("The customer of this statement no longer exists."))

    monkeypatch.setitem(jobs.exports.BUILDERS, "balances_xlsx", gone)
    export_id = export_id_of(finance_client.post("/exports/balances", data={}).get_data(as_text=True))
    run_jobs()
    english = finance_client.get(f"/exports/{export_id}/status").get_data(as_text=True)
    assert "The customer of this statement no longer exists." in english and "LookupError" not in english
    french = finance_client.get(f"/exports/{export_id}/status", headers={"Accept-Language": "fr-FR,fr"})
    assert "Le client de ce relevé de compte n’existe plus." in french.get_data(as_text=True)
