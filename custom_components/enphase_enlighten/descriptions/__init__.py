"""Entity descriptions: one module per platform, over the shared description types."""
