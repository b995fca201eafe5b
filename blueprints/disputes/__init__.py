"""Disputes: open one from the account status, work it on its page, list them all."""
