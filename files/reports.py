"""The bulk reminders report as CSV: one line per customer, what was sent, skipped or failed and why. Its
headers and outcomes are in the current language: the job writes it in the language of the user who ran it."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import pgettext

from domain.money import plain
from files.cells import csv_cell

if TYPE_CHECKING:
    from domain.reminders.bulk import DunningReport


def csv_columns() -> tuple[str, ...]:
    return (_("Customer account"), _("Customer"), _("Outcome"), _("Reason"), _("Level"), _("Entries"), _("Amount"),
            _("Currency"))


def outcome_words() -> dict[str, str]:
    return {"sent": pgettext("bulk outcome", "sent"), "skipped": pgettext("bulk outcome", "skipped"),
            "failed": pgettext("bulk outcome", "failed")}


def write_dunning_report(path: str | Path, report: DunningReport) -> None:
    """The report as CSV (UTF-8 with BOM, so Excel reads the accents): one line per customer."""
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_columns())
        outcomes = outcome_words()
        for line in report.lines:
            writer.writerow([csv_cell(value) for value in (
                line.account, line.name, outcomes.get(line.outcome, line.outcome), line.reason,
                f"R{line.level}" if line.level else "", " ".join(line.numbers),
                "; ".join(plain(cents) for _currency, cents in line.amounts),
                "; ".join(currency for currency, _cents in line.amounts))])
