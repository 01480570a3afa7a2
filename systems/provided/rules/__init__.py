"""Provided trading rules. Each takes 2-D arrays [business days x instruments]."""
