"""A plain-text message as clean HTML: the HTML part a customer's mail program shows beside the plain
one, and the paragraphs of a letter. Every character of the text is escaped; nothing of it is markup.

- Paragraphs are separated by blank lines. Inside one, a line break after a long line (a sentence
  wrapped by hand in the template) flows into a space; after a short line (a greeting, a signature,
  an address) it stays a line break.
- An aligned text table — a heading line, a line of dashes, rows — (the entries table of a reminder)
  becomes a real <table>, cut into columns where the dashes are; a column whose cells are
  right-aligned (amounts, days) stays right-aligned.
"""
from __future__ import annotations

import re
from html import escape

SOFT_WRAP = 60  # a line at least this long that runs on to the next was wrapped by hand: it flows
_DASHES = re.compile(r"-+(?: {2,}-+)*")

# E-mail programs ignore <style> often and external CSS always: the few styles are inline.
_TABLE = 'style="border-collapse:collapse;margin:4px 0 12px;font-size:14px"'
_CELL = "padding:4px 10px 4px 0;border-bottom:1px solid #d0d5dd;vertical-align:top"
_HEAD = "padding:4px 10px 4px 0;border-bottom:2px solid #1f4e79;vertical-align:bottom;font-weight:bold"


def _columns(dashes: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"-+", dashes)]


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    cells = []
    for i, (start, _end) in enumerate(spans):
        stop = spans[i + 1][0] if i + 1 < len(spans) else len(line)
        cells.append(line[start:stop].strip())
    return cells


def _right_aligned(lines: list[str], spans: list[tuple[int, int]]) -> list[bool]:
    """A column is right-aligned when one of its cells is shorter than the column and ends at its edge."""
    right = [False] * len(spans)
    for line in lines:
        for i, (start, end) in enumerate(spans):
            cell = line[start:end]
            if cell.strip() and cell.startswith(" ") and not cell.endswith(" ") and len(line) >= end:
                right[i] = True
    return right


def _table(lines: list[str]) -> str | None:
    if len(lines) < 3 or not _DASHES.fullmatch(lines[1].strip()):
        return None
    spans = _columns(lines[1])
    right = _right_aligned([lines[0]] + lines[2:], spans)

    def align(i: int) -> str:
        return "text-align:right;white-space:nowrap" if right[i] else "text-align:left"

    head = "".join(f'<th scope="col" style="{_HEAD};{align(i)}">{escape(cell)}</th>'
                   for i, cell in enumerate(_cells(lines[0], spans)))
    body = "".join("<tr>" + "".join(f'<td style="{_CELL};{align(i)}">{escape(cell)}</td>'
                                    for i, cell in enumerate(_cells(line, spans))) + "</tr>"
                   for line in lines[2:] if line.strip())
    return f'<table class="entries" {_TABLE}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def flowed(paragraph: str) -> str:
    """One paragraph's lines, escaped: hand-wrapped prose flows, short lines keep their break."""
    lines = [line.rstrip() for line in paragraph.split("\n")]
    out = escape(lines[0])
    for before, line in zip(lines, lines[1:]):
        runs_on = len(before) >= SOFT_WRAP and not before.endswith(":")
        out += (" " if runs_on else "<br>\n") + escape(line)
    return out


def paragraphs(text: str, *, tables: bool = True, paragraph_style: str = "") -> list[str]:
    """The text's paragraphs as HTML blocks (<p>, or <table> for an aligned table when `tables`)."""
    style = f' style="{paragraph_style}"' if paragraph_style else ""
    blocks = []
    for paragraph in re.split(r"\n[ \t]*\n", (text or "").replace("\r\n", "\n").strip("\n")):
        if not paragraph.strip():
            continue
        table = _table(paragraph.split("\n")) if tables else None
        blocks.append(table or f"<p{style}>{flowed(paragraph)}</p>")
    return blocks


def email_html(body: str, *, subject: str, language: str = "en") -> str:
    """The HTML part of an e-mail to a customer: the same words as the plain part, readable in any
    mail program (inline styles, no images, no scripts, long addresses wrap)."""
    content = "\n".join(paragraphs(body, paragraph_style="margin:0 0 12px"))
    return ("<!doctype html>\n"
            f'<html lang="{escape(language or "en")}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(subject)}</title></head>\n"
            '<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:14px;'
            'line-height:1.45;color:#1d2330;overflow-wrap:anywhere;word-break:break-word">\n'
            f'<div style="max-width:680px">\n{content}\n</div>\n</body></html>\n')
