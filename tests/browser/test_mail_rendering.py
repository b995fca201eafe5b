"""The HTML part of an e-mail to a customer, as a mail program shows it: rendered by Chromium at a
mail pane's width, the entries are a table whose headings never overlap, nothing runs off the side."""
from __future__ import annotations

from mail.html import email_html
from tests.unit.test_mail_html import BODY


def test_the_html_part_reads_cleanly_in_a_mail_pane(browser):
    page = browser.new_page(viewport={"width": 600, "height": 900})
    try:
        page.set_content(email_html(BODY, subject="Relance", language="en"))
        headings = page.locator("table.entries th")
        assert headings.count() == 6
        boxes = [headings.nth(i).bounding_box() for i in range(6)]
        for left, right in zip(boxes, boxes[1:]):
            assert left["x"] + left["width"] <= right["x"] + 0.5, "two table headings overlap"
        assert page.locator("table.entries td", has_text="INV-1").first.is_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the e-mail runs off the side of a 600 px pane: {widths}"
        address = page.get_by_text("a.very.long.address", exact=False)
        assert address.bounding_box()["width"] <= 600  # the long address wraps instead
        prose = page.locator("p", has_text="past their due date")
        assert "It may simply have slipped through the net" in prose.inner_text()  # one flowing paragraph
    finally:
        page.close()
