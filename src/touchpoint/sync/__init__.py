"""Offline sync between this laptop and a Touchpoint Hub (no Qt in here).

``protocol`` is shared with the Hub; ``engine`` runs one sync cycle over a
``transport``; the change log (storage.tracking) is the outbox.
"""
