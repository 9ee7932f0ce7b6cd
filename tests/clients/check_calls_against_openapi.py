"""Checks calls made to the agent against its OpenAPI document, as an independent client
library would read it. Reads {"document": <OpenAPI 3.1 document>, "calls": [{"method",
"route" (the path pattern), "status", "query" (names sent), "body" (JSON sent, or null),
"response" (the parsed JSON answer, or null)}, ...]} on stdin; prints {"checked": N,
"problems": [...]}. A call is wrong when its operation is missing, it sends a query name the
operation does not declare (`token` is the `queryToken` security scheme, always allowed), its
JSON body breaks the declared request schema, its status is not a declared response, or its
JSON answer breaks that response's schema. Schemas are JSON Schema 2020-12; their
`#/components/...` references resolve against the whole document."""

import json
import sys

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:click:openapi"
MAX_ERRORS = 5
MAX_MESSAGE = 200


def escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens):
    return "".join("/" + escape(t) for t in tokens)


def follow(doc, node, at):
    """`node` (found at JSON pointer `at`) with local `$ref`s followed: (node, its pointer)."""
    seen = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            break
        seen.add(ref)
        at = ref[1:]
        node = doc
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
    return node, at


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.registry = Registry().with_resource(
            DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
        )
        self.paths = doc.get("paths", {})
        self.problems = []

    def path_key(self, route):
        """The document's key for `route`: exact, else ignoring letter case and a trailing /."""
        if route in self.paths:
            return route
        norm = lambda p: p.lower().rstrip("/") or "/"
        return next((k for k in self.paths if norm(k) == norm(route)), None)

    def errors(self, at, instance):
        """The schema at pointer `at` of the document, applied to `instance`: short messages."""
        validator = Draft202012Validator({"$ref": DOC_URI + "#" + at}, registry=self.registry)
        out = []
        errors = list(validator.iter_errors(instance))
        for e in errors[:MAX_ERRORS]:
            # anyOf / oneOf: the branch error that explains most, at its own path.
            e = best_match([e])
            message = e.message
            # Messages start with the failing instance, which may be a whole record.
            shown = repr(e.instance)
            if len(shown) > 60:
                message = message.replace(shown, shown[:40] + "...", 1)
            if len(message) > MAX_MESSAGE:
                message = message[: MAX_MESSAGE - 3] + "..."
            out.append(f"{e.json_path}: {message}")
        if len(errors) > MAX_ERRORS:
            out.append(f"(and {len(errors) - MAX_ERRORS} more)")
        return out

    def json_schema_at(self, content, at):
        """The pointer of the JSON media type's schema of a `content` map at `at`, if any."""
        for media, body in (content or {}).items():
            kind = media.split(";")[0].strip().lower()
            if kind == "application/json" or kind.endswith("+json"):
                if isinstance(body, dict) and "schema" in body:
                    return at + pointer("content", media, "schema")
        return None

    def check(self, call):
        method = call["method"].lower()
        route = call["route"]
        name = f"{call['method']} {route}"
        problem = lambda what: self.problems.append(f"{name}: {what}")
        key = self.path_key(route)
        item = self.paths.get(key) if key is not None else None
        if not isinstance(item, dict) or method not in item:
            problem("no such operation in the document")
            return
        item_at = pointer("paths", key)
        op_at = item_at + pointer(method)
        op, op_at = follow(self.doc, item[method], op_at)

        declared = set()
        for params in (item.get("parameters", []), op.get("parameters", [])):
            for p in params:
                p, _ = follow(self.doc, p, "")
                if p.get("in") == "query":
                    declared.add(p.get("name"))
        for q in call.get("query") or []:
            if q != "token" and q not in declared:
                problem(f"query parameter '{q}' is not declared (declared: {sorted(declared)})")

        body = call.get("body")
        if body not in (None, {}) and "requestBody" not in op:
            # An empty object is what a client sends a POST the docs give no body.
            problem("a body was sent; the operation declares none")
        if body is not None and "requestBody" in op:
            request, request_at = follow(self.doc, op["requestBody"], op_at + "/requestBody")
            at = self.json_schema_at(request.get("content"), request_at)
            if at is not None:
                for e in self.errors(at, body):
                    problem(f"request body {e}")

        status = str(call["status"])
        responses = op.get("responses", {})
        listed = status if status in responses else f"{status[0]}XX"
        if listed not in responses:
            listed = "default" if "default" in responses else None
        if listed is None:
            problem(f"status {status} is not a declared response (declared: {sorted(responses)})")
            return
        response = call.get("response")
        if response is None:
            return
        declared_response, response_at = follow(
            self.doc, responses[listed], op_at + pointer("responses", listed)
        )
        content = declared_response.get("content")
        if not content:
            problem(f"{status} answered a JSON body; the document declares none")
            return
        at = self.json_schema_at(content, response_at)
        if at is not None:
            for e in self.errors(at, response):
                problem(f"{status} response {e}")


def main():
    given = json.load(sys.stdin)
    checker = Checker(given["document"])
    for call in given["calls"]:
        checker.check(call)
    print(json.dumps({"checked": len(given["calls"]), "problems": checker.problems}))


main()
