"""The audit log: an append-only record of what staff, operators and admins did (never residents' data)."""
