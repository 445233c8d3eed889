"""Connectors between the Hub and other systems (a CRM of record first: BottleCRM)."""
