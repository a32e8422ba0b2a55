"""A cloud project: creation and credentials check, its API services, its call counters and statistics."""
