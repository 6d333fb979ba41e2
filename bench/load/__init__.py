"""Load benchmark: simulated employees over signed Slack events against `exitbot serve` and a
bare slack-bolt echo app, with a fake Slack Web API. See bench/load/README.md."""
