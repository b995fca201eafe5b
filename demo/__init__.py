"""The demo ledger behind `flask demo`: generated data, not a domain rule."""
