"""Manual reminders from the account status and the due dates: the compose window (e-mail or
letter) for one entry (✉️, @) or for the ticked entries of the customer (grouped follow-up), the
letter PDFs, the status of a queued e-mail, and the Deliveries page listing the messages that
failed."""
