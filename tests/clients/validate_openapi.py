"""Validates an OpenAPI document (stdin) with openapi-spec-validator, which refuses a document
that breaks the OpenAPI 3.1 schema; prints its operations as JSON: [[METHOD, path], ...]."""

import json
import sys

from openapi_spec_validator import validate

doc = json.load(sys.stdin)
validate(doc)
print(json.dumps([[m.upper(), p] for p, ops in doc["paths"].items() for m in ops]))
