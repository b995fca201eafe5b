"""RQ jobs by area. Each takes ids, runs under `jobs.base.job` (the app the worker hands over, a
pool of its own, a final state) and calls the domain and the file builders."""

# RQ keeps a queued job as the import path of its function: jobs queued before the jobs were
# split by area (e.g. "jobs.build_export") still run after an upgrade. The daily follow-up run
# queued as "commands.reminders.daily_run" is not kept: the next day's run catches up.
_MOVED = {"build_export": "exports", "send_export_email": "exports", "delete_expired_exports": "exports",
          "send_to_agency": "collection", "send_outbox_message": "reminders",
          "retry_due_outbox_messages": "reminders", "rebucket_summaries": "ledger"}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module 'jobs' has no attribute {name!r}")
    from jobs import collection, exports, ledger, reminders

    return getattr({"exports": exports, "collection": collection, "reminders": reminders, "ledger": ledger}[_MOVED[name]],
                   name)
