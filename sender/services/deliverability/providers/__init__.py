"""Signed provider webhooks (issue 18): each module checks its provider's signature, then reads its payload
into `Feedback` values for `deliverability.feedback.apply`.

Nothing in a request is read before its signature holds; anything else raises `common.Refused` (403).
"""
