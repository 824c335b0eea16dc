"""Contracts every service shares: topics, settings, validation, the canonical events."""
