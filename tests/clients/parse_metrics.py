"""Reads an OpenMetrics exposition (stdin) with the Prometheus client library's own parser
(`prometheus_client.openmetrics.parser`), which refuses text that breaks the format, and
prints its samples as JSON: [{"name", "labels", "value"}, ...]."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(samples))
