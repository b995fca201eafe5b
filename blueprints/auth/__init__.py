"""Log in and out. Every other page needs a login."""
