"""Strawberry extensions, one per concern."""
