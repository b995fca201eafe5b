"""Collection: ⚖️ marks and stop-reminders, collection cases, collection files, agencies."""
