"""Touchpoint: an offline-first CRM for field sales and service reps."""

__version__ = "0.1.0"
