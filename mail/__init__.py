"""Mail to people outside the app: SMTP delivery."""
