"""Pulse reporter: scheduled reports and alerts, sent over SMTP and to webhooks."""
