"""Buyer messages: order received, confirmed, shipped, delivered, and one-time codes."""
