"""Typed input models of the API, one per use case; the OpenAPI document is generated from them."""
