"""The ledger: entries, payments, aging buckets, per-customer summaries and the list pages over them."""
