"""From reminder to debt collection: /debt-collection, its two tabs and the actions on claims."""
