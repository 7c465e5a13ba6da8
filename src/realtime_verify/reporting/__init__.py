"""Reports of a run: summary.json, report.html, history.jsonl, redaction of secrets."""
