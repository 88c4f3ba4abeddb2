"""Long-term statistics, per-panel daily energy and panel health, kept in the background."""
