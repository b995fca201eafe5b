"""Upload a customers, entries or payments file: check it (a dry run) or import it, all or nothing."""
