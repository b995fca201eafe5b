"""RQ jobs by area. Each takes ids, runs under `jobs.base.job` (the app the worker hands over, a
pool of its own, a final state) and calls the domain and the file builders."""
