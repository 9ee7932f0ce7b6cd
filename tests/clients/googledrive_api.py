"""The Google Drive API v3 file store of the providers' stand-in (oauth_providers.py), in
memory, as Google documents it, for the agent's Google Drive client
(adapters/tokio/src/cloud/googledrive.rs):

GET /googledrive/drive/v3/files?q=...&pageSize&pageToken&orderBy=createdTime (q: conjunctions
of `'<id>' in parents`, `name = '<s>'`, `mimeType = '<s>'`, `trashed = false`, with \\' and
\\\\ escapes; nextPageToken paging); GET /googledrive/drive/v3/files/<id> (metadata, or the
bytes with ?alt=media, honouring Range); POST /googledrive/drive/v3/files (a folder or empty
file from JSON metadata {name, mimeType, parents}); DELETE /googledrive/drive/v3/files/<id>
(204; a folder with what it holds); POST /googledrive/upload/drive/v3/files?uploadType=
multipart (multipart/related: JSON metadata, then the bytes) or =resumable (JSON metadata,
X-Upload-Content-Length; 200 with the session URI in Location); PATCH
/googledrive/upload/drive/v3/files/<id>?uploadType=media (new content) or =resumable; PUT
<session URI> (/googledrive-upload/<token>, no token needed) with Content-Range: pieces in
order, 256 KiB multiples but the last, 308 with Range until the file is whole, then 200 and
the file; `bytes */N` asks where it stands; DELETE <session URI> answers 499 and ends it.

Files: {"kind": "drive#file", "id", "name", "mimeType", "parents", "createdTime",
"modifiedTime", "size" (a string), "md5Checksum", "trashed": false}; folders have neither size
nor md5Checksum. Errors: {"error": {"code", "message", "errors": [{"domain", "reason",
"message"}]}}. Names may repeat in a folder, as in Drive. Calls need a bearer token from
/googledrive/token (401 authError) and obey /_test/rate_limit (429 rateLimitExceeded,
Retry-After: 1); session calls are also counted as /googledrive/upload-session (creations)
and /googledrive/upload-session/piece (PUTs).
"""

import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs, urlparse

import multipart

FOLDER = "application/vnd.google-apps.folder"
ROOT = "0AGoogleDriveRootFolderId"
GRANULE = 256 << 10
LOCK = threading.Lock()
FILES = {ROOT: {"kind": "drive#file", "id": ROOT, "name": "My Drive", "mimeType": FOLDER,
                "parents": [], "createdTime": "2026-01-01T00:00:00.000Z",
                "modifiedTime": "2026-01-01T00:00:00.000Z", "trashed": False}}
DATA = {}  # file id -> bytes
SESSIONS = {}  # token -> {"target": file id or None, "metadata", "total", "received"}
PAGES = {}  # page token -> remaining ids
CLOCK = itertools.count()


class DriveError(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def now():
    # Distinct, increasing times keep createdTime ordering exact.
    t = time.time() + next(CLOCK) / 1000.0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def real_id(file_id):
    return ROOT if file_id == "root" else file_id


def file_of(file_id):
    f = FILES.get(real_id(file_id))
    if f is None:
        raise DriveError(404, "notFound", f"File not found: {file_id}.")
    return f


def new_file(name, mime, parent, data=None):
    file_of(parent)
    fid = secrets.token_urlsafe(24)
    stamp = now()
    f = {"kind": "drive#file", "id": fid, "name": name, "mimeType": mime,
         "parents": [real_id(parent)], "createdTime": stamp, "modifiedTime": stamp,
         "trashed": False}
    FILES[fid] = f
    if mime != FOLDER:
        write(f, data or b"")
    return f


def write(f, data):
    DATA[f["id"]] = data
    f["size"] = str(len(data))
    f["md5Checksum"] = hashlib.md5(data).hexdigest()
    f["modifiedTime"] = now()


def remove(fid):
    for child in [c for c in FILES.values() if fid in c["parents"]]:
        remove(child["id"])
    FILES.pop(fid, None)
    DATA.pop(fid, None)


# The query language: clauses joined by `and`.
STRING = r"'((?:[^'\\]|\\.)*)'"
CLAUSES = [
    (re.compile(STRING + r"\s+in\s+parents"), lambda v: lambda f: real_id(v) in f["parents"]),
    (re.compile(r"name\s*=\s*" + STRING), lambda v: lambda f: f["name"] == v),
    (re.compile(r"mimeType\s*=\s*" + STRING), lambda v: lambda f: f["mimeType"] == v),
    (re.compile(r"trashed\s*=\s*false()"), lambda v: lambda f: not f["trashed"]),
]


def unescape(s):
    return re.sub(r"\\(.)", r"\1", s)


def parse_query(q):
    tests, rest = [], q.strip()
    while rest:
        for pattern, make in CLAUSES:
            m = pattern.match(rest)
            if m:
                tests.append(make(unescape(m.group(1))))
                rest = rest[m.end():].strip()
                break
        else:
            raise DriveError(400, "invalid", f"Invalid Value: {q}")
        if rest:
            if not rest.startswith("and "):
                raise DriveError(400, "invalid", f"Invalid Value: {q}")
            rest = rest[4:].strip()
    return tests


def listing(query):
    q = (query.get("q") or [""])[0]
    size = min(int((query.get("pageSize") or ["100"])[0]), 1000)
    token = (query.get("pageToken") or [""])[0]
    if token:
        ids = PAGES.pop(token, None)
        if ids is None:
            raise DriveError(400, "invalid", "Invalid Value: pageToken")
    else:
        tests = parse_query(q)
        found = [f for fid, f in FILES.items() if fid != ROOT and all(t(f) for t in tests)]
        found.sort(key=lambda f: (f["createdTime"], f["id"]))
        ids = [f["id"] for f in found]
    page, rest = ids[:size], ids[size:]
    answer = {"kind": "drive#fileList", "files": [FILES[i] for i in page if i in FILES]}
    if rest:
        next_token = secrets.token_urlsafe(16)
        PAGES[next_token] = rest
        answer["nextPageToken"] = next_token
    return answer


def related_parts(content_type, body):
    found = multipart.parts(content_type, body)
    if found is None:
        raise DriveError(400, "badContent", "Missing multipart boundary.")
    if len(found) != 2:
        raise DriveError(400, "badContent", "A multipart upload has metadata and media.")
    return json.loads(found[0][1] or b"{}"), found[1][1]


def metadata_file(meta, data):
    parents = meta.get("parents") or ["root"]
    return new_file(meta.get("name") or "Untitled", meta.get("mimeType") or
                    "application/octet-stream", parents[0], data)


def handle(h, method, rest, body, throttled):
    """A call to /googledrive<rest> (the Drive API), on handler `h`."""
    url = urlparse(h.path)
    query = parse_qs(url.query)
    resumable = (query.get("uploadType") or [""])[0] == "resumable"
    if resumable and method in ("POST", "PATCH"):
        h.tally("/googledrive/upload-session")
    if throttled():
        return error(h, DriveError(429, "rateLimitExceeded", "Rate Limit Exceeded"),
                     [("Retry-After", "1")])
    if not h.bearer("googledrive"):
        return error(h, DriveError(401, "authError", "Invalid Credentials"),
                     [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')])
    try:
        with LOCK:
            answer = route(h, method, url.path[len("/googledrive"):], query, body)
    except DriveError as e:
        return error(h, e)
    if answer is not None:
        answer()


def route(h, method, rest, query, body):
    """What to answer (a function, called outside the lock)."""
    one = lambda k: (query.get(k) or [""])[0]
    if rest == "/drive/v3/files" and method == "GET":
        result = listing(query)
        return lambda: h.answer(200, result)
    if rest == "/drive/v3/files" and method == "POST":
        f = metadata_file(json.loads(body or b"{}"), None)
        return lambda: h.answer(200, dict(f))
    m = re.fullmatch(r"/drive/v3/files/([^/]+)", rest)
    if m and method == "GET":
        f = file_of(m.group(1))
        if one("alt") != "media":
            return lambda: h.answer(200, dict(f))
        if f["mimeType"] == FOLDER:
            raise DriveError(403, "fileNotDownloadable", "Only files with binary content "
                             "can be downloaded.")
        data = DATA[f["id"]]
        return lambda: h.send_ranged(data)
    if m and method == "DELETE":
        f = file_of(m.group(1))
        remove(f["id"])
        return lambda: h.send(204, b"", "text/plain")
    if rest == "/upload/drive/v3/files" and method == "POST":
        kind = one("uploadType")
        if kind == "multipart":
            meta, data = related_parts(h.headers.get("Content-Type"), body or b"")
            f = metadata_file(meta, data)
            return lambda: h.answer(200, dict(f))
        if kind == "resumable":
            return start_session(h, None, json.loads(body or b"{}"))
        raise DriveError(400, "badRequest", f"Unsupported uploadType: {kind}")
    m = re.fullmatch(r"/upload/drive/v3/files/([^/]+)", rest)
    if m and method == "PATCH":
        f = file_of(m.group(1))
        kind = one("uploadType")
        if kind == "media":
            write(f, body or b"")
            return lambda: h.answer(200, dict(f))
        if kind == "resumable":
            return start_session(h, f["id"], json.loads(body or b"{}"))
        raise DriveError(400, "badRequest", f"Unsupported uploadType: {kind}")
    raise DriveError(404, "notFound", f"Not found: {method} {rest}")


def start_session(h, target, meta):
    total = h.headers.get("X-Upload-Content-Length")
    token = secrets.token_urlsafe(24)
    SESSIONS[token] = {"target": target, "metadata": meta, "received": b"",
                       "total": int(total) if total else None}
    location = f"{h.base_url()}/googledrive-upload/{token}?upload_id={token}"
    return lambda: h.send(200, b"", "text/plain", [("Location", location)])


def session(h, method, token, body):
    """A call to a session URI: pieces (PUT), or the end of the session (DELETE)."""
    if method == "PUT":
        h.tally("/googledrive/upload-session/piece")
    try:
        with LOCK:
            s = SESSIONS.get(token)
            if s is None:
                raise DriveError(404, "notFound", "Upload session not found.")
            if method == "DELETE":
                del SESSIONS[token]
                answer = lambda: h.send(499, b"", "text/plain")
            else:
                answer = piece(h, token, s, body or b"")
    except DriveError as e:
        return error(h, e)
    answer()


def piece(h, token, s, body):
    m = re.fullmatch(r"bytes (\*|(\d+)-(\d+))/(\d+|\*)", h.headers.get("Content-Range") or "")
    if not m:
        raise DriveError(400, "badRequest", "Invalid Content-Range.")
    total = None if m.group(4) == "*" else int(m.group(4))
    if s["total"] is not None and total is not None and total != s["total"]:
        raise DriveError(400, "badRequest", "The total size changed.")
    held = len(s["received"])
    if m.group(1) == "*":
        return progress(h, held)
    first, last = int(m.group(2)), int(m.group(3))
    if first != held or last - first + 1 != len(body):
        return progress(h, held)  # Google answers with what it holds; the client resumes
    if total is None or last + 1 < total:
        if len(body) % GRANULE:
            raise DriveError(400, "badRequest", "Pieces but the last must be multiples of "
                             "256 KiB.")
        s["received"] += body
        return progress(h, len(s["received"]))
    if last + 1 != total:
        raise DriveError(400, "badRequest", "Past the end of the upload.")
    s["received"] += body
    del SESSIONS[token]
    if s["target"] is not None:
        f = file_of(s["target"])
        write(f, s["received"])
    else:
        f = metadata_file(s["metadata"], s["received"])
    snapshot = dict(f)
    return lambda: h.answer(200, snapshot)


def progress(h, held):
    headers = [("Range", f"bytes=0-{held - 1}")] if held else []
    return lambda: h.send(308, b"", "text/plain", headers)


def error(h, e, headers=()):
    h.answer(e.code, {"error": {"code": e.code, "message": e.message, "errors": [
        {"domain": "global", "reason": e.reason, "message": e.message}]}}, headers)
