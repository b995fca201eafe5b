"""The receivables model and its rules. Knows no request, no HTML, no Redis."""
