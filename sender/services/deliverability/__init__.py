"""Deliverability: the return path per delivery (VERP), bounce and complaint reports and their effects."""
