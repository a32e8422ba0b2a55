"""Devices: lookup, ownership, commands and their status changes, logs, events and the message outbox."""
