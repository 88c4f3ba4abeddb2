"""The coordinators: one per cadence, above a bottom module of options, capabilities and data."""
