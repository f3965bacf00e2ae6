"""The internal store: raw records, ingest batches and the audit log. Never published."""
