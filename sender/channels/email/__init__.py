"""The email channel (SMTP relay or outbox folder), registered under the name "email"."""

from sender.channels.base import register
from sender.channels.email.channel import EmailChannel

EMAIL = register(EmailChannel())
