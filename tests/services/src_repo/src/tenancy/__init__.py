"""Tenancy: organisations and their members, one schema of tables per tenant."""
