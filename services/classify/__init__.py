"""Classify service: sentiment and intent of customer messages."""
