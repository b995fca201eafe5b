"""Formal notices: issued from the account status (letter or e-mail), their claimed charges settled."""
