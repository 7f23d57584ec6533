"""Launchers: how a sweep's jobs reach the hardware (several jobs packed on one GPU: ``pack``)."""
