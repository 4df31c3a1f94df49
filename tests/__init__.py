"""Limelight's test suite."""
