"""The Box Content API 2.0 file store of the providers' stand-in (oauth_providers.py), in
memory, as Box documents it, for the agent's Box client (adapters/tokio/src/cloud/boxcom.rs).
Box serves its API at api.box.com/2.0 and takes uploads at upload.box.com/api/2.0; here they
are /box/2.0/... and /box-content/2.0/... of the stand-in, and each refuses the other's calls.

API: GET /box/2.0/folders/<id>/items?fields&limit (at most 1000)&usemarker=true&marker (marker
paging: `next_marker`; without usemarker, offset paging with `total_count`); GET
/box/2.0/folders/<id>; POST /box/2.0/folders {"name", "parent": {"id"}} (201; 409
item_name_in_use with the item in context_info.conflicts); DELETE /box/2.0/folders/<id>
(?recursive=true for one that holds items, else 400 folder_not_empty); GET /box/2.0/files/<id>;
GET /box/2.0/files/<id>/content (302 to a pre-authenticated /box-download/<token>, which honours
Range); DELETE /box/2.0/files/<id> (204; If-Match, else 412 precondition_failed). Folder 0 is
the root. Names are unique in a folder whatever their case, and may not hold / or \\.

Uploads: POST /box-content/2.0/files/content, multipart/form-data with `attributes` ({"name",
"parent": {"id"}}) before `file` (else 400 metadata_after_file_contents), at most 50 MB (413),
an optional Content-MD5 holding the file's SHA-1 (400 sha1_mismatch) -> 201 {"total_count": 1,
"entries": [file]} (409 item_name_in_use); POST /box-content/2.0/files/<id>/content, the same
for a new version (If-Match, 412). Chunked uploads, for files of 20,000,000 bytes and more
(else 400 file_size_too_small): POST /box-content/2.0/files/upload_sessions {"folder_id",
"file_size", "file_name"} or /box-content/2.0/files/<id>/upload_sessions {"file_size"} -> 201
{"id", "type": "upload_session", "part_size" (8 MiB), "total_parts", "num_parts_processed",
"session_endpoints": {...}}; PUT /box-content/2.0/files/upload_sessions/<sid> with
Content-Range (at a multiple of part_size, exactly part_size long but the last; 416
range_overlaps_existing_part) and `Digest: sha=<base64 SHA-1>` of the part (400 bad_digest)
-> {"part": {"part_id", "offset", "size", "sha1"}}; POST .../<sid>/commit {"parts": [...]}
with the file's Digest: the first commit of a session answers 202 with Retry-After: 1 (the
parts are still being processed), then 201 {"entries": [file]}, when the parts listed are the
ones taken and cover the file (400 bad_request) and the digest is the file's (400
bad_digest); If-Match for a new version (412), 409 item_name_in_use for a new file whose name
was taken meanwhile; DELETE .../<sid> ends it (204).

Items: files {"type": "file", "id", "etag" (its version, counting from "0"), "sequence_id",
"name", "size", "sha1", "modified_at", "parent"}; folders {"type": "folder", "id", "etag",
"name", "size", "modified_at", "parent"}; `fields` trims them to those fields and type, id and
etag. Errors: {"type": "error", "status", "code", "message", "context_info", "help_url",
"request_id"}. Calls need a bearer token from /box/token (401 unauthorized) and obey
/_test/rate_limit (429 rate_limit_exceeded, Retry-After: 1); upload-session calls are also
counted as /box/upload-session (creations), /box/upload-session/part and
/box/upload-session/commit.
"""

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs, urlparse

import multipart

ROOT = "0"
PART_SIZE = 8 << 20
CHUNKED_MIN = 20_000_000
DIRECT_MAX = 50_000_000
LOCK = threading.Lock()
IDS = itertools.count(100)
ITEMS = {ROOT: {"type": "folder", "id": ROOT, "etag": "0", "sequence_id": "0",
                "name": "All Files", "size": 0, "modified_at": "2026-01-01T00:00:00-08:00",
                "parent": None}}
DATA = {}  # file id -> bytes
SESSIONS = {}  # session id -> {"folder", "name", "file", "total", "parts": {offset: part}, "waited"}
DOWNLOADS = {}  # token -> file id
MARKERS = {}  # marker -> remaining ids


class BoxError(Exception):
    def __init__(self, status, code, message, context=None):
        super().__init__(message)
        self.status, self.code, self.message, self.context = status, code, message, context


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S-00:00", time.gmtime())


def item_of(kind, item_id):
    item = ITEMS.get(item_id)
    if item is None or item["type"] != kind:
        raise BoxError(404, "not_found", f"Not Found: the {kind} {item_id} does not exist")
    return item


def children(folder_id):
    return sorted((i for i in ITEMS.values() if (i["parent"] or {}).get("id") == folder_id),
                  key=lambda i: (i["type"] != "folder", i["name"].lower(), i["id"]))


def named(folder_id, name):
    for item in children(folder_id):
        if item["name"].lower() == name.lower():
            return item
    return None


def check_name(folder_id, name):
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or \
            name in (".", "..") or name != name.strip():
        raise BoxError(400, "item_name_invalid", "Item name invalid")
    item_of("folder", folder_id)
    taken = named(folder_id, name)
    if taken is not None:
        raise BoxError(409, "item_name_in_use", "Item with the same name already exists",
                       {"conflicts": mini(taken)})


def mini(item):
    return {k: item[k] for k in ("type", "id", "etag", "sequence_id", "name") if k in item}


def new_item(kind, folder_id, name):
    check_name(folder_id, name)
    item = {"type": kind, "id": str(next(IDS)), "etag": "0", "sequence_id": "0", "name": name,
            "size": 0, "modified_at": now(), "parent": mini(ITEMS[folder_id])}
    ITEMS[item["id"]] = item
    return item


def write(item, data, first=False):
    DATA[item["id"]] = data
    item["size"] = len(data)
    item["sha1"] = hashlib.sha1(data).hexdigest()
    item["modified_at"] = now()
    if not first:
        item["etag"] = str(int(item["etag"]) + 1)
        item["sequence_id"] = item["etag"]


def remove(item_id):
    for child in children(item_id):
        remove(child["id"])
    ITEMS.pop(item_id, None)
    DATA.pop(item_id, None)


def shaped(item, query):
    fields = (query.get("fields") or [""])[0]
    if not fields:
        return dict(item)
    wanted = {"type", "id", "etag"} | set(fields.split(","))
    return {k: v for k, v in item.items() if k in wanted}


def check_if_match(h, item):
    wanted = h.headers.get("If-Match")
    if wanted is not None and wanted.strip('"') != item["etag"]:
        raise BoxError(412, "precondition_failed", "The resource has been modified. Please "
                       "retrieve the resource again and retry")


def items_page(folder_id, query):
    item_of("folder", folder_id)
    one = lambda k, d="": (query.get(k) or [d])[0]
    limit = int(one("limit", "100"))
    if not 1 <= limit <= 1000:
        raise BoxError(400, "bad_request", "Invalid value for limit")
    if one("usemarker") == "true":
        marker = one("marker")
        if marker:
            ids = MARKERS.pop(marker, None)
            if ids is None:
                raise BoxError(400, "bad_request", "Invalid value for marker")
        else:
            ids = [i["id"] for i in children(folder_id)]
        page, rest = ids[:limit], ids[limit:]
        answer = {"entries": [shaped(ITEMS[i], query) for i in page if i in ITEMS],
                  "limit": limit, "next_marker": None}
        if rest:
            token = secrets.token_urlsafe(12)
            MARKERS[token] = rest
            answer["next_marker"] = token
        return answer
    offset = int(one("offset", "0"))
    all_items = children(folder_id)
    return {"total_count": len(all_items), "offset": offset, "limit": limit,
            "entries": [shaped(i, query) for i in all_items[offset:offset + limit]]}


def api(h, method, rest, query, body):
    """A call to /box/2.0<rest>: what to answer (a function, called outside the lock)."""
    m = re.fullmatch(r"/folders/([^/]+)/items", rest)
    if m and method == "GET":
        page = items_page(m.group(1), query)
        return lambda: h.answer(200, page)
    if rest == "/folders" and method == "POST":
        arg = json.loads(body or b"{}")
        item = new_item("folder", str((arg.get("parent") or {}).get("id", "")), arg.get("name"))
        answer = shaped(item, query)
        return lambda: h.answer(201, answer)
    m = re.fullmatch(r"/(folders|files)/([^/]+)", rest)
    if m and method == "GET":
        item = item_of(m.group(1)[:-1], m.group(2))
        answer = shaped(item, query)
        return lambda: h.answer(200, answer)
    if m and method == "DELETE":
        item = item_of(m.group(1)[:-1], m.group(2))
        if item["id"] == ROOT:
            raise BoxError(403, "access_denied_insufficient_permissions", "Access denied")
        check_if_match(h, item)
        recursive = (query.get("recursive") or [""])[0] == "true"
        if item["type"] == "folder" and children(item["id"]) and not recursive:
            raise BoxError(400, "folder_not_empty", "Cannot delete - folder not empty")
        remove(item["id"])
        return lambda: h.send(204, b"", "text/plain")
    m = re.fullmatch(r"/files/([^/]+)/content", rest)
    if m and method == "GET":
        item = item_of("file", m.group(1))
        token = secrets.token_urlsafe(16)
        DOWNLOADS[token] = item["id"]
        location = f"{h.base_url()}/box-download/{token}"
        return lambda: h.send(302, b"", "text/plain", [("Location", location)])
    raise BoxError(404, "not_found", f"Not Found: {method} /2.0{rest}")


def form_parts(content_type, body):
    found = multipart.parts(content_type, body)
    if found is None or not (content_type or "").startswith("multipart/form-data"):
        raise BoxError(400, "bad_request", "The upload is not multipart/form-data")
    named = []
    for head, content in found:
        name = re.search(rb'name="([^"]*)"', head)
        named.append((name.group(1).decode() if name else "", content))
    return named


def direct(h, file_id, body):
    """A whole-file upload: a new file (file_id None) or a new version."""
    parts = form_parts(h.headers.get("Content-Type"), body or b"")
    names = [n for n, _ in parts]
    if "attributes" not in names or "file" not in names:
        raise BoxError(400, "bad_request", "An upload has attributes and a file")
    if names.index("attributes") > names.index("file"):
        raise BoxError(400, "metadata_after_file_contents", "Metadata after file contents")
    attributes = json.loads(dict(parts)["attributes"] or b"{}")
    data = dict(parts)["file"]
    if len(data) > DIRECT_MAX:
        raise BoxError(413, "request_entity_too_large", "Use a chunked upload for files over "
                       "50 MB")
    sha1 = h.headers.get("Content-MD5")
    if sha1 is not None and sha1.lower() != hashlib.sha1(data).hexdigest():
        raise BoxError(400, "sha1_mismatch", "The SHA-1 of the content does not match")
    if file_id is None:
        item = new_item("file", str((attributes.get("parent") or {}).get("id", "")),
                        attributes.get("name"))
        write(item, data, first=True)
    else:
        item = item_of("file", file_id)
        check_if_match(h, item)
        write(item, data)
    return item


def start_session(h, file_id, arg, base):
    size = arg.get("file_size")
    if not isinstance(size, int) or size < CHUNKED_MIN:
        raise BoxError(400, "file_size_too_small", "File size is less than minimum allowed for "
                       "this API: 20000000")
    if file_id is None:
        check_name(str(arg.get("folder_id", "")), arg.get("file_name"))
        target = {"folder": str(arg["folder_id"]), "name": arg["file_name"], "file": None}
    else:
        target = {"folder": None, "name": None, "file": item_of("file", file_id)["id"]}
    sid = secrets.token_hex(16).upper()
    SESSIONS[sid] = dict(target, total=size, parts={}, waited=False)
    own = f"{base}/box-content/2.0/files/upload_sessions/{sid}"
    return {"id": sid, "type": "upload_session", "part_size": PART_SIZE,
            "total_parts": -(-size // PART_SIZE), "num_parts_processed": 0,
            "session_expires_at": now(),
            "session_endpoints": {"upload_part": own, "commit": f"{own}/commit", "abort": own,
                                  "list_parts": f"{own}/parts", "status": own,
                                  "log_event": f"{own}/log"}}


def session_of(sid):
    s = SESSIONS.get(sid)
    if s is None:
        raise BoxError(404, "not_found", "The upload session was not found")
    return s


def sha_of(h):
    digest = h.headers.get("Digest") or ""
    if not digest.startswith("sha="):
        raise BoxError(400, "bad_request", "Missing or invalid Digest header")
    return digest[4:]


def b64_sha1(data):
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


def upload_part(h, sid, body):
    s = session_of(sid)
    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", h.headers.get("Content-Range") or "")
    if not m:
        raise BoxError(400, "bad_request", "Missing or invalid Content-Range header")
    first, last, total = int(m.group(1)), int(m.group(2)), int(m.group(3))
    data = body or b""
    if total != s["total"] or last - first + 1 != len(data) or first % PART_SIZE:
        raise BoxError(416, "requested_range_not_satisfiable", "The part's range is not "
                       "at a multiple of the part size or does not match its length")
    if len(data) != PART_SIZE and last + 1 != total:
        raise BoxError(416, "requested_range_not_satisfiable", "Each part but the last must "
                       "be exactly the part size")
    if first in s["parts"]:
        raise BoxError(416, "range_overlaps_existing_part", "Part overlaps an existing part")
    if sha_of(h) != b64_sha1(data):
        raise BoxError(400, "bad_digest", "The Digest does not match the content")
    part = {"part_id": secrets.token_hex(4).upper(), "offset": first, "size": len(data),
            "sha1": hashlib.sha1(data).hexdigest()}
    s["parts"][first] = dict(part, data=data)
    return {"part": part}


def commit(h, sid, body):
    s = session_of(sid)
    arg = json.loads(body or b"{}")
    listed = arg.get("parts")
    taken = [{k: p[k] for k in ("part_id", "offset", "size", "sha1")}
             for _, p in sorted(s["parts"].items())]
    if listed != taken or sum(p["size"] for p in taken) != s["total"]:
        raise BoxError(400, "bad_request", "The parts listed are not the parts uploaded, or do "
                       "not make the whole file")
    data = b"".join(p["data"] for _, p in sorted(s["parts"].items()))
    if sha_of(h) != b64_sha1(data):
        raise BoxError(400, "bad_digest", "The Digest does not match the file")
    if not s["waited"]:
        s["waited"] = True
        return None
    if s["file"] is None:
        item = new_item("file", s["folder"], s["name"])
        write(item, data, first=True)
    else:
        item = item_of("file", s["file"])
        check_if_match(h, item)
        write(item, data)
    del SESSIONS[sid]
    return item


def content(h, method, rest, query, body):
    """A call to /box-content/2.0<rest> (the upload host)."""
    if method == "POST" and rest == "/files/content":
        item = direct(h, None, body)
        return lambda: h.answer(201, {"total_count": 1, "entries": [shaped(item, query)]})
    m = re.fullmatch(r"/files/([^/]+)/content", rest)
    if m and method == "POST":
        item = direct(h, m.group(1), body)
        return lambda: h.answer(201, {"total_count": 1, "entries": [shaped(item, query)]})
    m = re.fullmatch(r"/files(?:/([^/]+))?/upload_sessions", rest)
    if m and method == "POST":
        h.tally("/box/upload-session")
        session = start_session(h, m.group(1), json.loads(body or b"{}"), h.base_url())
        return lambda: h.answer(201, session)
    m = re.fullmatch(r"/files/upload_sessions/([^/]+)", rest)
    if m and method == "PUT":
        h.tally("/box/upload-session/part")
        part = upload_part(h, m.group(1), body)
        return lambda: h.answer(200, part)
    if m and method == "DELETE":
        session_of(m.group(1))
        del SESSIONS[m.group(1)]
        return lambda: h.send(204, b"", "text/plain")
    m = re.fullmatch(r"/files/upload_sessions/([^/]+)/commit", rest)
    if m and method == "POST":
        h.tally("/box/upload-session/commit")
        item = commit(h, m.group(1), body)
        if item is None:
            return lambda: h.send(202, b"", "text/plain", [("Retry-After", "1")])
        return lambda: h.answer(201, {"total_count": 1, "entries": [shaped(item, query)]})
    raise BoxError(404, "not_found", f"Not Found: {method} /2.0{rest} on the upload host")


def handle(h, method, host, rest, body, throttled):
    """A call to /<host>/2.0<rest> on handler `h`: host "box" (the API) or "box-content"
    (the upload host)."""
    url = urlparse(h.path)
    query = parse_qs(url.query)
    if throttled():
        return error(h, BoxError(429, "rate_limit_exceeded", "Request rate limit exceeded, "
                                 "please try again later"), [("Retry-After", "1")])
    if not h.bearer("box"):
        return error(h, BoxError(401, "unauthorized", "Unauthorized"),
                     [("WWW-Authenticate", 'Bearer realm="Service", error="invalid_token"')])
    uploads = bool(re.match(r"/files(/[^/]+)?/(content|upload_sessions)", rest)) and \
        not (method == "GET" and rest.endswith("/content"))
    if uploads != (host == "box-content"):
        where = "upload.box.com" if uploads else "api.box.com"
        return error(h, BoxError(400, "bad_request", f"This call is served at {where}"))
    try:
        with LOCK:
            answer = (content if uploads else api)(h, method, rest, query, body)
    except BoxError as e:
        return error(h, e)
    except ValueError:
        return error(h, BoxError(400, "bad_request", "The body is not valid JSON"))
    answer()


def download(h, token):
    """GET /box-download/<token>: the file's bytes (pre-authenticated), honouring Range."""
    with LOCK:
        data = DATA.get(DOWNLOADS.get(token, ""))
    if data is None:
        return h.send(404, b"", "text/plain")
    h.send_ranged(data)


def error(h, e, headers=()):
    body = {"type": "error", "status": e.status, "code": e.code, "message": e.message,
            "help_url": "http://developers.box.com/docs/#errors",
            "request_id": secrets.token_hex(6)}
    if e.context is not None:
        body["context_info"] = e.context
    h.answer(e.status, body, headers)
