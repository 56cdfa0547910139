"""Business rules; no Flask request in here."""
