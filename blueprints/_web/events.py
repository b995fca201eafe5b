"""The htmx events a change sets off (HX-Trigger), and that parts of a page listen for with
`hx-trigger="<name> from:body"`. One name per thing that changed, used by every view."""

ACCOUNT_CHANGED = "accountChanged"  # a customer's account status (switches, marks, notes)
ENTRIES_CHANGED = "entriesChanged"  # entries' levels or flags: the lists redraw their rows
EXPORT_CHANGED = "exportChanged"  # an export or a bulk run reached a final state: the bell follows
