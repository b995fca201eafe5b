"""One customer's account status, and the switches on it (collection mark, stop reminders)."""
