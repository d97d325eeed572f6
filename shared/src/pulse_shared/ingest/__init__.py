"""The runtime the three ingest services share (tracking, rate limits, publishing,
webhooks); each service adds only its platform's client and normaliser."""
