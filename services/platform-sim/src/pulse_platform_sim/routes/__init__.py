"""The platform APIs and the control API."""
