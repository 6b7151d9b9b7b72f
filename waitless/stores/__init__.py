"""Stores: the live store (Redis or in-process) and the event log (PostgreSQL + spool)."""
