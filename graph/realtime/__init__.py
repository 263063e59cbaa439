"""Subscriptions: the LISTEN broker and its topics."""
