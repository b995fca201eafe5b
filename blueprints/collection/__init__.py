"""The Collection page: entries in collection with their case and file, the case status control,
and its Excel export."""
