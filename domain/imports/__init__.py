"""Getting data in from files, all or nothing."""
