"""Engagement: tracked links, the redirect and the pixel, scanner filtering, and the figures reports read."""
