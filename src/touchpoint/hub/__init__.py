"""Touchpoint Hub: the central server laptops sync with (FastAPI over SQLAlchemy).

SQLite by default, PostgreSQL in production. No state lives in process memory,
so several uvicorn workers can serve one database.
"""
