"""Promises to pay: recorded from the account status, listed on /promises."""
