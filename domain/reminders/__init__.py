"""Reminders: templates, what holds one back, sending, the outbox, follow-up plans, bulk runs."""
