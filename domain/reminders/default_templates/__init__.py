"""The reminder templates that ship with Relance, one module per language (en.py, fr.py).

Each module has two mappings, EMAIL and LETTER, from the reminder level to a `Default(subject,
body)`: level 0 is the prevention message sent before the due date, 1…5 are R1…R5, and the tone
firms up from one level to the next (R1 friendly, R3 firm, R5 formal notice).

For translators: the text is plain text (never HTML) with Jinja placeholders such as
`{{ customer.name }}` or `{{ total_overdue }}`; the list of placeholders is in
domain/reminders/templates.py (PLACEHOLDERS) and on the template editor page. Dates and amounts
are formatted for the customer's language by Relance: write `{{ entry.due_date }}`, not a date
format. For letters, `subject` is the object line (the letter layout adds the "Subject:" /
"Objet :" label, the addresses, the place and the date around the body).

To add a language: copy en.py to <code>.py (e.g. de.py), translate the text between the quotes,
and add the module to DEFAULTS below and its code to LANGUAGES in domain/reminders/templates.py.
A user can override any of these in Settings → Reminder templates; "Reset to default" brings the
text of this package back.
"""
from __future__ import annotations

from domain.reminders.default_templates import en, fr
from domain.reminders.default_templates.default import Default

DEFAULTS: dict[str, dict[str, dict[int, Default]]] = {
    "en": {"email": en.EMAIL, "letter": en.LETTER},
    "fr": {"email": fr.EMAIL, "letter": fr.LETTER},
}
# The e-mails about a payment schedule, by language and message kind (not editable in Settings).
SCHEDULE_DEFAULTS: dict[str, dict[str, Default]] = {"en": en.SCHEDULE, "fr": fr.SCHEDULE}
# The e-mail a formal notice goes with, by language.
NOTICE_DEFAULTS: dict[str, dict[str, Default]] = {"en": en.NOTICE, "fr": fr.NOTICE}
