"""Settings → Users (admin only): create users, change roles, deactivate, reset passwords. Each
change is a history line (domain.audit); the last active admin is kept (domain.users)."""
