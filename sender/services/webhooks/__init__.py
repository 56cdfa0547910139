"""Outgoing webhooks: the event port (`events.emit`), endpoints, signed delivery by jobs, and its retries."""
