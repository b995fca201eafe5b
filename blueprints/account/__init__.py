"""My account (every logged-in user): my name, my language, my password."""
