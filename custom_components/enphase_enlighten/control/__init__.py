"""Controls' plumbing: translated errors, the timed battery command and the service actions."""
