"""Tests for the Enphase Enlighten integration."""
