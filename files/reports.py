"""The bulk reminders report as CSV: one line per customer, what was sent, skipped or failed and why."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from domain.money import plain
from files.cells import csv_cell

if TYPE_CHECKING:
    from domain.reminders.bulk import DunningReport

CSV_COLUMNS = ("Customer account", "Customer", "Outcome", "Reason", "Level", "Entries", "Amount", "Currency")


def write_dunning_report(path: str | Path, report: DunningReport) -> None:
    """The report as CSV (UTF-8 with BOM, so Excel reads the accents): one line per customer."""
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for line in report.lines:
            writer.writerow([csv_cell(value) for value in (
                line.account, line.name, line.outcome, line.reason,
                f"R{line.level}" if line.level else "", " ".join(line.numbers),
                "; ".join(plain(cents) for _, cents in line.amounts),
                "; ".join(currency for currency, _ in line.amounts))])
