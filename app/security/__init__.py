"""Inbound security: who may call which tool for which hotel, and the audit, idempotency and confirmation rules
that keep a retried payment or an unconfirmed cancellation from becoming an incident."""
