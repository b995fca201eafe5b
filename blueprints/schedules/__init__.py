"""Payment schedules: made from the account status, one page each, the overview on /schedules."""
