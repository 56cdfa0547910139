"""The SMS channel (Twilio), registered under the name "sms"."""

from sender.channels.base import register
from sender.channels.sms.channel import SmsChannel

SMS = register(SmsChannel())
