"""Local stand-ins for the OAuth endpoints of Dropbox, Box, OneDrive (Microsoft identity
platform and Graph) and Google Drive, as each documents them: the authorization endpoint
(code flow with PKCE S256, approved at once for the test user), the token endpoint
(authorization_code and refresh_token grants, client_secret_basic or client_secret_post,
single-use codes, invalid_grant for anything wrong) and each provider's "who am I" call.
These SaaS cannot be reached from the test machines; the agent reaches these through its
configurable `[oauth.<provider>]` URLs.

Dropbox's files API (HTTP API v2) is stood in for as well, over an in-memory tree, in the
shapes Dropbox documents. Dropbox splits RPC calls (api.dropboxapi.com) from content calls
(content.dropboxapi.com); here RPC calls are under `/dropbox/2/` and content calls (uploads,
downloads, upload sessions) under `/dropbox-content/2/`, and each host refuses the other's
calls (400, plain text, as Dropbox answers a call on the wrong host):
  files/list_folder, files/list_folder/continue, files/get_metadata, files/delete_v2 and
  files/create_folder_v2 take and give JSON; files/upload takes its argument in the
  `Dropbox-API-Arg` header and the bytes (at most 150 MiB) as the body; files/download (POST,
  or GET) takes `Dropbox-API-Arg` and an optional `Range`, and gives the entry in the
  `Dropbox-API-Result` header. Upload sessions, content calls like files/upload (at most
  150 MiB a call): files/upload_session/start {"close", "session_type": "sequential" only}
  with the first bytes (may be none) -> {"session_id"}; files/upload_session/append_v2
  {"cursor": {"session_id", "offset"}, "close"} -> null (409 not_found, incorrect_offset with
  correct_offset, closed); files/upload_session/finish {"cursor", "commit": files/upload's
  argument} with the last bytes -> the file's metadata as files/upload answers it, written as
  files/upload writes (409 lookup_failed/..., path/conflict/...); a finished session is gone,
  a refused finish leaves it as it was. files/upload's path/conflict keeps its bytes in the
  closed session its upload_session_id names. Each call needs `Authorization: Bearer` with an
  access token from /dropbox/token. Paths match case-insensitively (path_lower is the key,
  path_display keeps the case given at creation); "id:..." names an entry and "rev:..." one
  revision of a file (get_metadata, download). Refusals are Dropbox's: JSON `error_summary`
  and `error`, or plain text for a request that cannot be read (400).

OneDrive's files API (Microsoft Graph v1.0) is stood in for too, over its own in-memory tree,
under /onedrive/v1.0/me/drive (items addressed by path: `root`, `root:/a/b` or `root:/a/b:`,
percent-encoded names; names match case-insensitively and keep the case given at creation):
  GET root/children, root:/p:/children ($top, default 200, at most 999; `@odata.nextLink` with
  a $skiptoken while more remain; sorted by name, case-insensitively); GET root, root:/p (the
  driveItem: eTag "{GUID},N" with N counting the item's writes, cTag, size, parentReference.path,
  and a `file` facet with its quickXorHash or a `folder` facet with childCount); GET
  root:/p:/content (302 to a pre-authenticated /onedrive-download/<token> URL, which needs no
  Authorization and honours Range); PUT root:/p:/content (simple upload of at most 4 MiB, 201
  new or 200 replaced; If-Match, @microsoft.graph.conflictBehavior=fail|replace|rename; parent
  folders made as needed); DELETE root:/p (204, folders with what they hold); POST
  root/children, root:/p:/children {"name", "folder": {}, "@microsoft.graph.conflictBehavior"}
  (201; the parent is made as needed); GET /onedrive/v1.0/me/drive (the drive, with quota);
  POST root:/p:/createUploadSession (optional body {"item": {"@microsoft.graph.conflictBehavior":
  fail|replace|rename (default replace)}}; If-Match checked then) -> 200 {"uploadUrl",
  "expirationDateTime", "nextExpectedRanges": ["0-"]}.
  Each needs `Authorization: Bearer` with an access token from /onedrive/token; refusals are
  Graph's, {"error": {"code", "message"}}: 401 InvalidAuthenticationToken, 404 itemNotFound,
  409 nameAlreadyExists, 412 preconditionFailed, 413 requestTooLarge, 400 invalidRequest.
  An upload session's uploadUrl is http://<Host>/onedrive-upload/<token>, and refuses a request
  that carries Authorization (401 unauthenticated): PUT with Content-Length and Content-Range
  `bytes {start}-{end}/{total}`, fragments in order (else 416 invalidRange with
  nextExpectedRanges beside "error"), each a multiple of 320 KiB but the last and at most
  60 MiB, the same total throughout (else 400 invalidRange) -> 202 {"expirationDateTime",
  "nextExpectedRanges": ["<next>-"]}; the fragment completing the file writes it as a simple
  upload with the session's conflict behaviour -> 201/200 driveItem (or 409), and the session
  is gone (404). GET -> 200 {"expirationDateTime", "nextExpectedRanges"}; DELETE -> 204.

Google Drive's file API (/googledrive/drive/v3/files..., /googledrive/upload/drive/v3/files...,
the resumable sessions' /googledrive-upload/<token>) is in googledrive_api.py, Box's (/box/2.0/...,
/box-content/2.0/..., /box-download/...) in box_api.py.

Test hooks (JSON POSTs, no auth): /_test/rate_limit {"count": N} makes the next N calls to
the providers' file APIs (Dropbox's both hosts, Graph's drive and upload URLs, Drive's and Box's
APIs) answer 429 (Retry-After: 1, in each provider's error shape); /_test/expire_tokens invalidates every access token
issued so far; /_test/revoke invalidates every refresh token and access token;
/_test/rotate_refresh_tokens {"on": bool} makes every provider answer a refresh with a new
refresh token and refuse the used one from then on (Box always does). GET /_test/calls
counts the calls by path (hooks aside), refused ones included; upload-session calls also under
/dropbox/upload-session (start), /dropbox/upload-session/append, /dropbox/upload-session/finish,
/onedrive/upload-session (createUploadSession), /onedrive/upload-session/fragment (PUT),
/onedrive/upload-session/status (GET) and /onedrive/upload-session/cancel (DELETE).

Run: python3 oauth_providers.py CLIENT_ID CLIENT_SECRET -> prints `READY <port>`, serves on
127.0.0.1 until killed. Paths: /<provider>/authorize, /<provider>/token, and
/dropbox/2/users/get_current_account (POST), /box/2.0/users/me, /onedrive/v1.0/me,
/googledrive/drive/v3/about?fields=user; /dropbox/2/files/..., /onedrive/v1.0/me/drive/...,
/onedrive-download/..., /onedrive-upload/... and /_test/... as above.
"""

import base64
import hashlib
import itertools
import json
import re
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse

import box_api  # Box's file API (its own module: a store of its own)
import googledrive_api  # Google Drive's file API (its own module: a store of its own)

CLIENT_ID, CLIENT_SECRET = sys.argv[1], sys.argv[2]
PROVIDERS = ("dropbox", "box", "onedrive", "googledrive")
LOCK = threading.Lock()  # guards everything below
CODES = {}  # code -> {provider, challenge, redirect_uri}
ACCESS = {}  # access token -> provider
REFRESH = {}  # refresh token -> provider
CALLS = Counter()  # request path (or SESSION_CALLS name) -> calls, whatever they were answered
RATE_LIMITED = 0  # Dropbox and Graph calls still to be answered 429
# Providers that issue a new refresh token at each refresh and refuse the used one afterwards,
# as Box always does; /_test/rotate_refresh_tokens {"on": true} makes every provider do so.
ROTATING = {"box"}

# Dropbox's files, by path_lower ("" is the root, which no listing shows).
TREE = {"": {"tag": "folder", "key": "", "name": "", "display": "", "id": None}}
REVISIONS = {}  # rev -> the file as that revision left it: downloads may name a revision
CURSORS = {}  # list_folder cursor -> what list_folder/continue picks up
SESSIONS = {}  # upload session id -> {"data": the bytes so far, "closed": no more appends}
REV_NUMBERS = itertools.count(1)
MAX_UPLOAD = 150 << 20  # what files/upload takes; larger files need upload sessions
HASH_BLOCK = 4 << 20  # content_hash hashes the content in blocks of 4 MiB


# Upload-session calls are counted under these names as well as under their paths: a test can
# tell that a provider's sessions were used without knowing the paths or upload URLs involved.
SESSION_CALLS = {
    "files/upload_session/start": "/dropbox/upload-session",
    "files/upload_session/append_v2": "/dropbox/upload-session/append",
    "files/upload_session/finish": "/dropbox/upload-session/finish",
    "POST createUploadSession": "/onedrive/upload-session",
    "PUT /onedrive-upload": "/onedrive/upload-session/fragment",
    "GET /onedrive-upload": "/onedrive/upload-session/status",
    "DELETE /onedrive-upload": "/onedrive/upload-session/cancel",
}


def throttled():
    """Whether /_test/rate_limit has this call answered 429 (each such answer uses one up)."""
    global RATE_LIMITED
    with LOCK:
        if RATE_LIMITED > 0:
            RATE_LIMITED -= 1
            return True
    return False


def who(provider):
    if provider == "dropbox":
        return {"account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
                "email": "ada@example.com", "name": {"display_name": "Ada"}}
    if provider == "box":
        return {"type": "user", "id": "11446498", "login": "ada@example.com", "name": "Ada"}
    if provider == "onedrive":
        return {"id": "48d31887-5fad-4d73-a9f5-3c356e68a038",
                "userPrincipalName": "ada@example.com", "displayName": "Ada"}
    return {"user": {"kind": "drive#user", "permissionId": "00112233445566778899",
                     "emailAddress": "ada@example.com", "displayName": "Ada"}}


# --- Dropbox files ------------------------------------------------------------------------
# The functions below run under LOCK and raise DropboxError for what Dropbox refuses.


class DropboxError(Exception):
    """A refusal as Dropbox words it: `error_summary` and `error` (JSON) or, when `error` is
    None, the plain-text explanation Dropbox gives for a request it cannot read (400)."""

    def __init__(self, status, summary, error=None):
        super().__init__(summary)
        self.status, self.summary, self.error = status, summary, error


class Conflict(Exception):
    """Something in the way of a write: a "file", a "folder" or a "file_ancestor"."""


def lookup_failed(tag, reason):
    """A LookupError (`not_found`, `not_file`, `not_folder`) under the endpoint's `tag`."""
    return DropboxError(409, f"{tag}/{reason}", {".tag": tag, tag: {".tag": reason}})


def malformed():
    return DropboxError(400, "path/malformed_path",
                        {".tag": "path", "path": {".tag": "malformed_path"}})


def stamp(later=0):
    """Now (or `later` seconds from now) as the APIs write times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + later))


def content_hash(data):
    # Dropbox's content hash: SHA-256 over the SHA-256 digests of the 4 MiB blocks.
    digests = b"".join(hashlib.sha256(data[i:i + HASH_BLOCK]).digest()
                       for i in range(0, len(data), HASH_BLOCK))
    return hashlib.sha256(digests).hexdigest()


def parse(path, root=False, ids=True):
    """The key (path_lower) and display path an argument names. "" is the root where the
    endpoint takes it; with `ids`, "id:..." names an existing entry (an unknown id gives a key
    nothing is at, so the caller's lookup fails as Dropbox's does)."""
    if path is None:
        raise DropboxError(400, "request body: missing required field 'path'")
    if not isinstance(path, str):
        raise DropboxError(400, "request body: path: expected a string")
    if ids and path.startswith("id:"):
        node = next((n for n in TREE.values() if n["id"] == path), None)
        return (node["key"], node["display"]) if node else (path, path)
    if path == "" and root:
        return "", ""
    parts = path.split("/")
    # Dropbox names the root "" (never "/") and has no empty, "." or ".." components.
    if len(parts) < 2 or parts[0] or any(p in ("", ".", "..") for p in parts[1:]):
        raise malformed()
    return path.lower(), path


def find(key, tag="path"):
    node = TREE.get(key)
    if node is None:
        raise lookup_failed(tag, "not_found")
    return node


def revision(path):
    """The file a "rev:..." path names, as that revision left it (deleted or overwritten)."""
    node = REVISIONS.get(path[len("rev:"):])
    if node is None:
        raise lookup_failed("path", "not_found")
    return node


def metadata(node):
    meta = {".tag": node["tag"], "name": node["name"], "path_lower": node["key"],
            "path_display": node["display"], "id": node["id"]}
    if node["tag"] == "file":
        meta.update({"client_modified": node["client_modified"],
                     "server_modified": node["server_modified"], "rev": node["rev"],
                     "size": len(node["data"]), "is_downloadable": True,
                     "content_hash": node["content_hash"]})
    return meta


def parent_of(key):
    return key.rpartition("/")[0]


def new_node(tag, key, display):
    """A new entry under an existing folder: the folder's display path keeps its own case, as
    Dropbox keeps the case of what exists."""
    name = display.rpartition("/")[2]
    node = {"tag": tag, "key": key, "name": name,
            "display": TREE[parent_of(key)]["display"] + "/" + name,
            "id": "id:" + secrets.token_urlsafe(16)}
    TREE[key] = node
    return node


def make_parents(key, display):
    """Creates the missing folders above `key`, as Dropbox does for uploads and new folders;
    a file among them is in the way (checked first, so a refused write leaves nothing)."""
    keys, shown = key.split("/"), display.split("/")
    above = [("/".join(keys[:i]), "/".join(shown[:i])) for i in range(2, len(keys))]
    if any(TREE.get(k, {}).get("tag") == "file" for k, _ in above):
        raise Conflict("file_ancestor")
    for k, d in above:
        if k not in TREE:
            new_node("folder", k, d)


def renamed(key, display, is_file):
    """Dropbox's autorename: the first free "name (2).ext", "name (3).ext"... beside `key`."""
    head, _, name = display.rpartition("/")
    has_ext = is_file and "." in name.lstrip(".")
    stem, dot, ext = name.rpartition(".") if has_ext else (name, "", "")
    for n in itertools.count(2):
        candidate = f"{stem} ({n}){dot}{ext}"
        candidate_key = parent_of(key) + "/" + candidate.lower()
        if candidate_key not in TREE:
            return candidate_key, f"{head}/{candidate}"


def listing(key, recursive):
    """The keys a listing of folder `key` shows, sorted: its children, or every descendant and,
    as Dropbox answers a recursive listing of a folder other than the root, the folder itself."""
    prefix = key + "/"
    keys = [k for k in TREE
            if k.startswith(prefix) and (recursive or "/" not in k[len(prefix):])]
    if recursive and key:
        keys.append(key)
    return sorted(keys)


def page(state):
    """The next page of a listing, with a new cursor for what follows (earlier cursors keep
    answering what they answered: a client retrying a page gets the same page)."""
    limit = state["limit"]
    entries, rest = state["pending"][:limit], state["pending"][limit:]
    cursor = secrets.token_urlsafe(24)
    CURSORS[cursor] = dict(state, pending=rest)
    return {"entries": entries, "cursor": cursor, "has_more": bool(rest)}


def list_folder(arg):
    key, _ = parse(arg.get("path"), root=True)
    recursive, limit = arg.get("recursive", False), arg.get("limit", 2000)
    if not isinstance(recursive, bool):
        raise DropboxError(400, "request body: recursive: expected a boolean")
    if type(limit) is not int or not 1 <= limit <= 2000:
        raise DropboxError(400, "request body: limit: expected an integer from 1 to 2000")
    if find(key)["tag"] != "folder":
        raise lookup_failed("path", "not_folder")
    # What was sent is kept, so that continuing past the last page reports what changed since.
    seen = {k: metadata(TREE[k]) for k in listing(key, recursive)}
    return page({"key": key, "recursive": recursive, "limit": limit, "seen": seen,
                 "pending": list(seen.values())})


def list_folder_continue(arg):
    cursor = arg.get("cursor")
    if not isinstance(cursor, str):
        raise DropboxError(400, "request body: missing required field 'cursor'")
    state = CURSORS.get(cursor)
    if state is None:
        # Dropbox's answer to a cursor it no longer honours: list again from the start.
        raise DropboxError(409, "reset", {".tag": "reset"})
    if state["pending"]:
        return page(state)
    # The listing was all sent: the changes since, as Dropbox answers a cursor that is current.
    node = TREE.get(state["key"])
    if node is None or node["tag"] != "folder":
        raise lookup_failed("path", "not_found")
    now = {k: metadata(TREE[k]) for k in listing(state["key"], state["recursive"])}
    then = state["seen"]
    deleted = [{".tag": "deleted", "name": m["name"], "path_lower": k,
                "path_display": m["path_display"]} for k, m in then.items() if k not in now]
    changed = [m for k, m in now.items() if then.get(k) != m]
    return page(dict(state, seen=now, pending=deleted + changed))


def get_metadata(arg):
    path = arg.get("path")
    if isinstance(path, str) and path.startswith("rev:"):
        return metadata(revision(path))
    key, _ = parse(path)
    return metadata(find(key))


def delete(arg):
    key, _ = parse(arg.get("path"))
    meta = metadata(find(key, "path_lookup"))
    for k in [k for k in TREE if k == key or k.startswith(key + "/")]:
        del TREE[k]
    return {"metadata": meta}


def write_conflict(what):
    """A WriteError `conflict` under `path`, as create_folder_v2 and upload_session/finish
    give it (files/upload wraps it otherwise: see upload)."""
    return DropboxError(409, f"path/conflict/{what}", {
        ".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": what}}})


def create_folder(arg):
    key, display = parse(arg.get("path"), ids=False)
    try:
        if key in TREE:
            if arg.get("autorename") is not True:
                raise Conflict(TREE[key]["tag"])
            key, display = renamed(key, display, is_file=False)
        make_parents(key, display)
    except Conflict as c:
        raise write_conflict(c.args[0])
    return {"metadata": metadata(new_node("folder", key, display))}


def in_the_way(node, mode, data, strict):
    """What makes an upload conflict, as WriteMode and strict_conflict document it, or None."""
    if node is None:
        # strict_conflict: updating a revision whose file is gone is a conflict too.
        return "file" if mode[".tag"] == "update" and strict else None
    if node["tag"] == "folder":
        return "folder"
    if mode[".tag"] == "overwrite" or mode.get("update") == node["rev"]:
        return None
    # `add` over a file, or `update` of a revision that is not the latest; the same bytes again
    # are forgiven, unless strict_conflict.
    return None if node["data"] == data and not strict else "file"


def commit_info(arg):
    """What a CommitInfo (files/upload's argument, upload_session/finish's `commit`) asks, its
    fields checked: (key, display path, WriteMode, client_modified or None)."""
    key, display = parse(arg.get("path"), ids=False)
    mode = arg.get("mode", "add")
    mode = {".tag": mode} if isinstance(mode, str) else mode
    if not isinstance(mode, dict) or mode.get(".tag") not in ("add", "overwrite", "update") or (
            mode[".tag"] == "update" and not isinstance(mode.get("update"), str)):
        raise DropboxError(400, 'request body: mode: expected "add", "overwrite" or '
                                '{".tag": "update", "update": <rev>}')
    client_modified = arg.get("client_modified")
    if client_modified is not None and not (
            isinstance(client_modified, str)
            and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", client_modified)):
        raise DropboxError(400, "request body: client_modified: expected %Y-%m-%dT%H:%M:%SZ")
    return key, display, mode, client_modified


def check_hash(arg, data):
    """An argument's `content_hash`, when given, is that of the bytes sent with the call."""
    if "content_hash" in arg and arg["content_hash"] != content_hash(data):
        raise DropboxError(409, "content_hash_mismatch", {".tag": "content_hash_mismatch"})


def upload(arg, data):
    info = commit_info(arg)
    check_hash(arg, data)
    try:
        return write_file(info, arg, data)
    except Conflict as c:
        # The bytes stay in a closed session, as Dropbox keeps them: upload_session/finish with
        # another commit retries without sending them again.
        what = c.args[0]
        raise DropboxError(409, f"path/conflict/{what}", {
            ".tag": "path", "reason": {".tag": "conflict", "conflict": {".tag": what}},
            "upload_session_id": open_session(data, closed=True)})


def write_file(info, arg, data):
    """Writes `data` as a CommitInfo asks (`info`: what commit_info made of `arg`), for
    files/upload and upload_session/finish alike: the file's metadata. Raises Conflict, having
    changed nothing, when something is in the way."""
    key, display, mode, client_modified = info
    node = TREE.get(key)
    what = in_the_way(node, mode, data, arg.get("strict_conflict") is True)
    if what is not None:
        if arg.get("autorename") is not True:
            raise Conflict(what)
        key, display = renamed(key, display, is_file=True)
        node = None
    make_parents(key, display)
    if node is not None and node["data"] == data:
        # Dropbox makes no new revision of the same bytes: the file is answered as it is.
        return metadata(node)
    node = node or new_node("file", key, display)
    now, rev = stamp(), f"{next(REV_NUMBERS):012x}"
    node.update(data=data, rev=rev, content_hash=content_hash(data), server_modified=now,
                client_modified=client_modified or now)
    REVISIONS[rev] = dict(node)
    return metadata(node)


def open_session(data, closed):
    session_id = "pid_upload_session:" + secrets.token_urlsafe(16)
    SESSIONS[session_id] = {"data": bytearray(data), "closed": closed}
    return session_id


def flag(arg, name):
    value = arg.get(name, False)
    if not isinstance(value, bool):
        raise DropboxError(400, f"request body: {name}: expected a boolean")
    return value


def session_start(arg, data):
    """files/upload_session/start: a sequential session holding the first bytes."""
    close = flag(arg, "close")
    kind = arg.get("session_type", "sequential")
    # Concurrent sessions (parts at any 4 MiB-aligned offset, in any order) are not stood in.
    if kind not in ("sequential", {".tag": "sequential"}):
        raise DropboxError(400, "request body: session_type: only \"sequential\" is supported "
                                "by this stand-in")
    check_hash(arg, data)
    return {"session_id": open_session(data, close)}


def session_at(cursor):
    """The session an UploadSessionCursor names, when its offset is where the session's bytes
    end; else the UploadSessionLookupError, at the top (finish puts it under lookup_failed)."""
    if not isinstance(cursor, dict) or not isinstance(cursor.get("session_id"), str) or \
            type(cursor.get("offset")) is not int or cursor["offset"] < 0:
        raise DropboxError(400, 'request body: cursor: expected {"session_id": <string>, '
                                '"offset": <integer>}')
    session = SESSIONS.get(cursor["session_id"])
    if session is None:
        raise DropboxError(409, "not_found", {".tag": "not_found"})
    size = len(session["data"])
    if cursor["offset"] != size:
        # correct_offset lets a client that lost an answer carry on where the session is.
        raise DropboxError(409, "incorrect_offset",
                           {".tag": "incorrect_offset", "correct_offset": size})
    return session


def session_closed():
    return DropboxError(409, "closed", {".tag": "closed"})


def session_append(arg, data):
    """files/upload_session/append_v2: the bytes at the cursor's offset; answers null."""
    close = flag(arg, "close")
    session = session_at(arg.get("cursor"))
    if session["closed"]:
        raise session_closed()
    check_hash(arg, data)
    session["data"] += data
    session["closed"] = close
    return None


def session_finish(arg, data):
    """files/upload_session/finish: the session's bytes and the last ones written as `commit`
    asks, as files/upload writes them; the session is then gone. A refused finish changes
    nothing, so it may be tried again (with another commit, say)."""
    commit = arg.get("commit")
    if not isinstance(commit, dict):
        raise DropboxError(400, "request body: missing required field 'commit'")
    info = commit_info(commit)
    try:
        session = session_at(arg.get("cursor"))
        if session["closed"] and data:
            raise session_closed()
    except DropboxError as e:
        if e.error is None:
            raise
        raise DropboxError(409, "lookup_failed/" + e.summary,
                           {".tag": "lookup_failed", "lookup_failed": e.error})
    check_hash(arg, data)
    try:
        meta = write_file(info, commit, bytes(session["data"]) + data)
    except Conflict as c:
        raise write_conflict(c.args[0])
    del SESSIONS[arg["cursor"]["session_id"]]
    return meta


def download(arg):
    """The bytes and entry of the file (or revision) an argument names."""
    path = arg.get("path")
    if isinstance(path, str) and path.startswith("rev:"):
        node = revision(path)
    else:
        key, _ = parse(path)
        node = find(key)
        if node["tag"] != "file":
            raise lookup_failed("path", "not_file")
    return node["data"], metadata(node)


def byte_range(header, size):
    """The inclusive (first, last) a `Range: bytes=...` asks for; None for the whole file (no
    header, or one ignored as RFC 9110 allows: several ranges, a malformed one); False when
    no byte of the file is in it (416)."""
    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if not m or m.groups() == ("", ""):
        return None
    first, last = m.groups()
    if first == "":  # the last N bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n and size else False
    first, last = int(first), int(last) if last else size - 1
    if first >= size:
        return False
    if last < first:
        return None
    return first, min(last, size - 1)


RPC = {
    "files/list_folder": list_folder,
    "files/list_folder/continue": list_folder_continue,
    "files/get_metadata": get_metadata,
    "files/delete_v2": delete,
    "files/create_folder_v2": create_folder,
}

# Content-upload calls: (argument, body bytes) -> the answer's JSON.
UPLOADS = {
    "files/upload": upload,
    "files/upload_session/start": session_start,
    "files/upload_session/append_v2": session_append,
    "files/upload_session/finish": session_finish,
}


# --- OneDrive files (Microsoft Graph v1.0) ------------------------------------------------
# The functions below run under LOCK and raise GraphError for what Graph refuses.

OD_DRIVE_ID = "8c3f0f4d2b1a9e77"  # a personal drive's id; item ids are "<drive id>!<n>"
OD_IDS = itertools.count(101)
OD_TREE = {}  # key (the path's names, lower-cased, joined by "/"; "" is the root) -> item
OD_PAGES = {}  # $skiptoken -> {"key", "top", "pending": keys still to be listed}
OD_DOWNLOADS = {}  # token of a pre-authenticated download URL -> the bytes it serves
OD_SESSIONS = {}  # token of an upload URL -> {"names", "behaviour", "total", "data"}
OD_SIMPLE_UPLOAD = 4 << 20  # what a simple upload (PUT .../content) takes
OD_FRAGMENT = 320 << 10  # upload-session fragments are multiples of this, the last excepted,
OD_MAX_FRAGMENT = 60 << 20  # and at most this
OD_SESSION_LIFE = 24 * 3600  # announced as a session's expiry (the stand-in lets none lapse)
OD_BAD_CHARS = set('"*:<>?/\\|')  # what OneDrive names cannot hold
MASK160 = (1 << 160) - 1


class GraphError(Exception):
    """A refusal as Graph words it: {"error": {"code", "message"}} with `status`, and `extra`
    fields beside "error" (an upload session's nextExpectedRanges)."""

    def __init__(self, status, code, message, extra=None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


def quick_xor_hash(data):
    """OneDrive's QuickXorHash (base64): byte i is XORed into a 160-bit register at bit
    (11 * i) mod 160, rotating; the length (64-bit little-endian) is XORed into its last 8
    bytes. Byte i's shift depends on i mod 160 only, so 160-byte rows are XORed first."""
    acc = 0
    for i in range(0, len(data), 160):
        acc ^= int.from_bytes(data[i:i + 160], "little")
    reg = 0
    for j, b in enumerate(acc.to_bytes(160, "little")):
        if b:
            x = b << (11 * j) % 160
            reg ^= (x & MASK160) | (x >> 160)
    out = bytearray(reg.to_bytes(20, "little"))
    for i, b in enumerate(len(data).to_bytes(8, "little")):
        out[12 + i] ^= b
    return base64.b64encode(bytes(out)).decode()


def od_new(key, name, folder):
    now = stamp()
    item = {"key": key, "name": name, "folder": folder, "kids": set(),
            "id": f"{OD_DRIVE_ID.upper()}!{next(OD_IDS)}",
            "guid": str(uuid.uuid4()).upper(), "version": 1, "created": now, "modified": now,
            "data": b"", "hash": quick_xor_hash(b"")}
    OD_TREE[key] = item
    if key:
        OD_TREE[parent_of_od(key)]["kids"].add(key)
    return item


def parent_of_od(key):
    return key.rpartition("/")[0]


od_new("", "root", True)


def od_address(raw):
    """The names and the action ("", "children" or "content") of what follows
    /v1.0/me/drive/ (still percent-encoded): root, root/children, root:/a/b, root:/a/b:,
    root:/a/b:/children, root:/a/b:/content."""
    if raw == "root" or raw == "root:":
        return [], ""
    if raw.startswith("root/"):
        return [], raw[len("root/"):]
    if not raw.startswith("root:/"):
        raise GraphError(400, "invalidRequest", f"Unsupported segment in the request: {raw}")
    path, colon, tail = raw[len("root:"):].partition(":")
    if colon and tail and not tail.startswith("/"):
        raise GraphError(400, "invalidRequest", "Malformed path")
    names = [unquote(p) for p in path[1:].split("/")]
    if path == "/":
        names = []
    for name in names:
        if name in ("", ".", "..") or OD_BAD_CHARS & set(name) or name != name.strip():
            raise GraphError(400, "invalidRequest", f"Invalid name in the path: {name!r}")
    return names, tail[1:]


def od_key(names):
    return "/".join(n.lower() for n in names)


def od_find(key):
    item = OD_TREE.get(key)
    if item is None:
        raise GraphError(404, "itemNotFound", "The resource could not be found.")
    return item


def od_size(item):
    if not item["folder"]:
        return len(item["data"])
    return sum(od_size(OD_TREE[k]) for k in item["kids"])


def od_display(key):
    """The path of `key` as its names were given: "/a/B" ("" for the root)."""
    parts = key.split("/") if key else []
    return "".join("/" + OD_TREE["/".join(parts[:i + 1])]["name"] for i in range(len(parts)))


def od_item(item):
    """The driveItem as Graph v1.0 gives it."""
    guid, n = item["guid"], item["version"]
    body = {"id": item["id"], "name": item["name"], "eTag": f'"{{{guid}}},{n}"',
            "cTag": f'"c:{{{guid}}},{n}"', "size": od_size(item),
            "createdDateTime": item["created"], "lastModifiedDateTime": item["modified"],
            "fileSystemInfo": {"createdDateTime": item["created"],
                               "lastModifiedDateTime": item["modified"]}}
    ref = {"driveId": OD_DRIVE_ID, "driveType": "personal"}
    if item["key"]:
        parent = OD_TREE[parent_of_od(item["key"])]
        ref.update(id=parent["id"], path="/drive/root:" + od_display(parent["key"]))
    else:
        body["root"] = {}
    body["parentReference"] = ref
    if item["folder"]:
        body["folder"] = {"childCount": len(item["kids"])}
    else:
        body["file"] = {"mimeType": "application/octet-stream",
                        "hashes": {"quickXorHash": item["hash"]}}
    return body


def od_children(names, top, skiptoken):
    """A page of a folder's children, by name case-insensitively, and the $skiptoken of the
    next page (None when none remain)."""
    if skiptoken:
        state = OD_PAGES.get(skiptoken)
        if state is None:
            raise GraphError(400, "invalidRequest", "Invalid or expired $skiptoken.")
        pending = [k for k in state["pending"] if k in OD_TREE]
    else:
        folder = od_find(od_key(names))
        kids = folder["kids"] if folder["folder"] else ()
        pending = sorted(kids, key=lambda k: (OD_TREE[k]["name"].lower(), OD_TREE[k]["name"]))
    shown, rest = pending[:top], pending[top:]
    token = None
    if rest:
        token = secrets.token_urlsafe(24)
        OD_PAGES[token] = {"pending": rest}
    return [od_item(OD_TREE[k]) for k in shown], token


def od_free_name(parent_key, name, folder):
    """OneDrive's "rename" conflict behaviour: "name 1.ext", "name 2.ext"..."""
    has_ext = not folder and "." in name.lstrip(".")
    stem, dot, ext = name.rpartition(".") if has_ext else (name, "", "")
    for n in itertools.count(1):
        candidate = f"{stem} {n}{dot}{ext}"
        if (parent_key + "/" if parent_key else "") + candidate.lower() not in OD_TREE:
            return candidate


def od_folders_clear(names):
    """The keys of the folders `names` names and those above it, when no file is where one of
    them must be (409 otherwise)."""
    keys = [od_key(names[:i + 1]) for i in range(len(names))]
    for k in keys:
        if k in OD_TREE and not OD_TREE[k]["folder"]:
            raise GraphError(409, "nameAlreadyExists",
                             f"A file named {OD_TREE[k]['name']!r} is in the way.")
    return keys


def od_make_folders(names):
    """Creates the folders `names` names and those above it, as needed; a file among them is
    in the way (checked first, so that a refused write leaves nothing)."""
    keys = od_folders_clear(names)
    for k, name in zip(keys, names):
        if k not in OD_TREE:
            od_new(k, name, True)
    return OD_TREE[keys[-1]] if keys else OD_TREE[""]


def od_tags(item):
    return {od_item(item)["eTag"], od_item(item)["cTag"], "*"}


def od_behaviour(value, default):
    value = value or default
    if value not in ("fail", "replace", "rename"):
        raise GraphError(400, "invalidRequest", f"Invalid conflictBehavior: {value}")
    return value


def od_not_root(names):
    if not names:
        raise GraphError(400, "invalidRequest", "Cannot upload content to the root.")


def od_precondition(names, if_match):
    """An If-Match (eTag, cTag or *) holds for the item at `names`; 412 otherwise."""
    item = OD_TREE.get(od_key(names))
    if if_match is not None and (item is None or if_match.strip() not in od_tags(item)):
        raise GraphError(412, "preconditionFailed", "The resource has changed.")


def od_upload(names, data, if_match, behaviour):
    """Simple upload: (status, driveItem)."""
    od_not_root(names)
    if data is None or len(data) > OD_SIMPLE_UPLOAD:
        raise GraphError(413, "requestTooLarge",
                         "Simple uploads take at most 4 MiB; use an upload session.")
    od_precondition(names, if_match)
    return od_write(names, data, behaviour)


def od_write(names, data, behaviour):
    """Writes a file's bytes at `names` as the conflict `behaviour` says, for simple uploads
    and completed upload sessions alike: (201 new or 200 replaced, driveItem)."""
    key = od_key(names)
    item = OD_TREE.get(key)
    name = names[-1]
    if item is not None:
        if behaviour == "fail":
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        if behaviour == "rename":
            name = od_free_name(parent_of_od(key), name, folder=False)
            key, item = od_key(names[:-1] + [name]), None
        elif item["folder"]:
            raise GraphError(409, "nameAlreadyExists", "A folder has that name.")
    od_make_folders(names[:-1])
    status = 200 if item is not None else 201
    if item is None:
        item = od_new(key, name, False)
    else:
        item["version"] += 1
        item["modified"] = stamp()
    item.update(data=data, hash=quick_xor_hash(data))
    return status, od_item(item)


def od_create_session(names, arg, if_match, base_url):
    """POST .../createUploadSession {"item": {"@microsoft.graph.conflictBehavior"}}: the
    session, its upload URL on this stand-in. If-Match is checked now (Graph checks it when the
    session is made); the conflict behaviour and the parent folders when the bytes are in."""
    od_not_root(names)
    item = arg.get("item", {})
    if not isinstance(item, dict):
        raise GraphError(400, "invalidRequest", "item: expected an object.")
    behaviour = od_behaviour(item.get("@microsoft.graph.conflictBehavior"), "replace")
    od_precondition(names, if_match)
    od_folders_clear(names[:-1])  # refused now rather than after all the bytes were sent
    size = item.get("fileSize")
    token = secrets.token_urlsafe(32)
    OD_SESSIONS[token] = {"names": names, "behaviour": behaviour, "data": bytearray(),
                          "total": size if type(size) is int and size > 0 else None}
    return dict(od_progress(OD_SESSIONS[token]), uploadUrl=f"{base_url}/onedrive-upload/{token}")


def od_session(token):
    session = OD_SESSIONS.get(token)
    if session is None:
        # Completed, cancelled or never made: the URL answers nothing any more.
        raise GraphError(404, "itemNotFound", "The upload session was not found.")
    return session


def od_progress(session):
    """What an upload session answers while bytes are missing (202, GET of the URL)."""
    return {"expirationDateTime": stamp(OD_SESSION_LIFE),
            "nextExpectedRanges": [f"{len(session['data'])}-"]}


def od_fragment(token, content_range, data):
    """PUT <uploadUrl> with `Content-Range: bytes {start}-{end}/{total}`: (202, progress) while
    bytes are missing; the fragment that completes the file writes it as a simple upload does
    (201 or 200, driveItem) and ends the session, as does a refused write of it."""
    session = od_session(token)
    m = re.fullmatch(r"\s*bytes (\d+)-(\d+)/(\d+)\s*", content_range or "")
    if not m:
        raise GraphError(400, "invalidRange",
                         "Content-Range must be bytes {start}-{end}/{total}.")
    start, end, total = map(int, m.groups())
    if data is None or len(data) > OD_MAX_FRAGMENT:
        raise GraphError(400, "invalidRange", "A fragment takes at most 60 MiB.")
    if end < start or end >= total or end - start + 1 != len(data):
        raise GraphError(400, "invalidRange", "Content-Range does not match the body.")
    if session["total"] not in (None, total):
        raise GraphError(400, "invalidRange", "The file's total size changed.")
    received = len(session["data"])
    if start != received:
        raise GraphError(416, "invalidRange", "The fragment is not the one expected next.",
                         {"nextExpectedRanges": [f"{received}-"]})
    complete = end + 1 == total
    if not complete and len(data) % OD_FRAGMENT:
        raise GraphError(400, "invalidRange",
                         "Fragments but the last must be multiples of 320 KiB.")
    session["total"] = total
    session["data"] += data
    if not complete:
        return 202, od_progress(session)
    del OD_SESSIONS[token]
    return od_write(session["names"], bytes(session["data"]), session["behaviour"])


def od_delete(names, if_match):
    if not names:
        raise GraphError(403, "accessDenied", "The root cannot be deleted.")
    key = od_key(names)
    item = od_find(key)
    if if_match is not None and if_match.strip() not in od_tags(item):
        raise GraphError(412, "preconditionFailed", "The resource has changed.")
    OD_TREE[parent_of_od(key)]["kids"].discard(key)
    for k in [k for k in OD_TREE if k == key or k.startswith(key + "/")]:
        del OD_TREE[k]


def od_create_folder(names, arg, behaviour):
    """POST .../children with {"name", "folder": {}}: (status, driveItem)."""
    name = arg.get("name")
    if not isinstance(name, str) or name in ("", ".", "..") or OD_BAD_CHARS & set(name) \
            or name != name.strip():
        raise GraphError(400, "invalidRequest", "Invalid or missing name.")
    if not isinstance(arg.get("folder"), dict):
        raise GraphError(400, "invalidRequest", "Only folders can be created this way.")
    behaviour = od_behaviour(arg.get("@microsoft.graph.conflictBehavior") or behaviour, "fail")
    key = od_key(names + [name])
    existing = OD_TREE.get(key)
    if existing is not None:
        if behaviour == "fail":
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        if behaviour == "rename":
            name = od_free_name(od_key(names), name, folder=True)
        elif existing["folder"]:
            return 200, od_item(existing)
        else:
            od_delete(names + [name], None)
    od_make_folders(names)
    return 201, od_item(od_new(od_key(names + [name]), name, True))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, data, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def answer(self, status, body, headers=()):
        self.send(status, json.dumps(body).encode(), "application/json", headers)

    def refuse(self, error, description):
        self.answer(400, {"error": error, "error_description": description})

    def provider(self):
        parts = urlparse(self.path).path.strip("/").split("/")
        return (parts[0], "/" + "/".join(parts[1:])) if parts[0] in PROVIDERS else (None, None)

    def count(self):
        """Counts the call (the hooks' own aside, so that they do not blur the counts) and
        returns its path."""
        path = urlparse(self.path).path
        if not path.startswith("/_test/"):
            self.tally(path)
        return path

    @staticmethod
    def tally(name):
        with LOCK:
            CALLS[name] += 1

    def pieces(self, n):
        while n > 0:
            piece = self.rfile.read(min(n, 1 << 20))
            if not piece:
                return
            yield piece
            n -= len(piece)

    def read_body(self):
        """The request's body (Content-Length or chunked), or None past MAX_UPLOAD: it is read
        all the same, as a client cut off while sending may never see the answer."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            def chunks():
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    yield from self.pieces(size)
                    self.rfile.readline()  # the CRLF ending the chunk
                while self.rfile.readline().strip():  # trailers
                    pass
            source = chunks()
        else:
            source = self.pieces(int(self.headers.get("Content-Length") or 0))
        kept, total = [], 0
        for piece in source:
            total += len(piece)
            if total <= MAX_UPLOAD:
                kept.append(piece)
        return b"".join(kept) if total <= MAX_UPLOAD else None

    def bearer(self, provider):
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        with LOCK:
            return ACCESS.get(token) == provider

    def box(self, method, path, body):
        """Whether `path` is a call to Box's API (/box/2.0/...), upload host
        (/box-content/2.0/...) or download URLs (/box-download/...), answered here."""
        if path.startswith("/box-download/") and method == "GET":
            box_api.download(self, path[len("/box-download/"):])
            return True
        for host in ("box", "box-content"):
            base = f"/{host}/2.0"
            if path.startswith(base + "/") and path != "/box/2.0/users/me":
                box_api.handle(self, method, host, path[len(base):], body, throttled)
                return True
        return False

    def do_GET(self):
        path = self.count()
        if self.box("GET", path, None):
            return
        if path == "/_test/calls":
            with LOCK:
                calls = dict(CALLS)
            return self.answer(200, calls)
        if path.startswith("/onedrive-download/"):
            return self.od_download(path[len("/onedrive-download/"):])
        if path.startswith("/onedrive-upload/"):
            return self.od_upload_url("GET", path[len("/onedrive-upload/"):], None)
        provider, rest = self.provider()
        if self.is_graph_files(provider, rest):
            return self.onedrive("GET", rest, None)
        if self.is_drive_files(provider, rest):
            return googledrive_api.handle(self, "GET", rest, None, throttled)
        if path == "/dropbox-content/2/files/download":
            # Dropbox's content-download endpoints take GET as well.
            return self.dropbox("files/download", b"", content_host=True)
        query = parse_qs(urlparse(self.path).query)
        one = lambda k: (query.get(k) or [""])[0]
        if rest == "/authorize":
            if one("client_id") != CLIENT_ID or one("response_type") != "code":
                return self.refuse("invalid_request", "unknown client or response type")
            if one("code_challenge_method") != "S256" or not one("code_challenge"):
                return self.refuse("invalid_request", "PKCE (S256) is required")
            code = secrets.token_urlsafe(24)
            with LOCK:
                CODES[code] = {"provider": provider, "challenge": one("code_challenge"),
                               "redirect_uri": one("redirect_uri")}
            target = one("redirect_uri") + "?" + urlencode({"code": code, "state": one("state")})
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if provider and rest in ("/2.0/users/me", "/v1.0/me", "/drive/v3/about"):
            return self.me(provider)
        self.answer(404, {"error": "not_found"})

    def me(self, provider):
        if not self.bearer(provider):
            return self.answer(401, {"error": "invalid_token"})
        self.answer(200, who(provider))

    def do_POST(self):
        path = self.count()
        body = self.read_body()
        if self.box("POST", path, body):
            return
        if path.startswith("/_test/"):
            return self.hook(path, body)
        if path.startswith("/dropbox-content/2/"):
            return self.dropbox(path[len("/dropbox-content/2/"):], body, content_host=True)
        provider, rest = self.provider()
        if provider == "dropbox" and rest.startswith("/2/"):
            return self.dropbox(rest[len("/2/"):], body)
        if self.is_graph_files(provider, rest):
            return self.onedrive("POST", rest, body)
        if self.is_drive_files(provider, rest):
            return googledrive_api.handle(self, "POST", rest, body, throttled)
        if rest != "/token":
            return self.answer(404, {"error": "not_found"})
        form = {k: v[0] for k, v in parse_qs((body or b"").decode(errors="replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return self.answer(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        with LOCK:
            if grant == "authorization_code":
                entry = CODES.pop(form.get("code", ""), None)
                if entry is None or entry["provider"] != provider:
                    return self.refuse("invalid_grant", "the code is unknown or was used")
                if entry["redirect_uri"] != form.get("redirect_uri"):
                    return self.refuse("invalid_grant", "redirect_uri mismatch")
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if challenge != entry["challenge"]:
                    return self.refuse("invalid_grant", "code_verifier does not match")
                refresh = secrets.token_urlsafe(32)
                REFRESH[refresh] = provider
            elif grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if REFRESH.get(refresh) != provider:
                    return self.refuse("invalid_grant", "the refresh token was revoked")
                if provider in ROTATING or "*" in ROTATING:
                    del REFRESH[refresh]
                    refresh = secrets.token_urlsafe(32)
                    REFRESH[refresh] = provider
            else:
                return self.refuse("unsupported_grant_type", str(grant))
            access = secrets.token_urlsafe(32)
            ACCESS[access] = provider
        self.answer(200, {"access_token": access, "token_type": "bearer",
                          "expires_in": 3600, "refresh_token": refresh})

    def hook(self, path, body):
        global RATE_LIMITED
        try:
            arg = json.loads(body or b"{}")
        except ValueError:
            arg = None
        if not isinstance(arg, dict):
            return self.answer(400, {"error": "the body is not a JSON object"})
        with LOCK:
            if path == "/_test/rate_limit":
                RATE_LIMITED = int(arg.get("count", 0))
            elif path == "/_test/expire_tokens":
                ACCESS.clear()  # an unknown token and an expired one are refused alike
            elif path == "/_test/revoke":
                ACCESS.clear()
                REFRESH.clear()
            elif path == "/_test/rotate_refresh_tokens":
                ROTATING.discard("*")
                if arg.get("on"):
                    ROTATING.add("*")
            else:
                path = None
        if path is None:
            return self.answer(404, {"error": "not_found"})
        self.answer(200, {})

    def dropbox(self, endpoint, body, content_host=False):
        """A call to Dropbox's API v2 (`endpoint` as in its URLs: "files/list_folder"), on its
        API host or, with `content_host`, its content host."""
        is_content = endpoint in UPLOADS or endpoint == "files/download"
        if is_content != content_host:
            host = "content.dropboxapi.com" if is_content else "api.dropboxapi.com"
            text = f'Error in call to API function "{endpoint}": This function must be ' \
                   f'called on {host}.'
            return self.send(400, text.encode(), "text/plain; charset=utf-8")
        if endpoint in SESSION_CALLS:
            self.tally(SESSION_CALLS[endpoint])
        if throttled():
            return self.answer(429, {"error_summary": "too_many_requests/...", "error": {
                "reason": {".tag": "too_many_requests"}, "retry_after": 1}},
                [("Retry-After", "1")])
        if not self.bearer("dropbox"):
            return self.answer(401, {"error_summary": "expired_access_token/...",
                                     "error": {".tag": "expired_access_token"}},
                               [("WWW-Authenticate", 'Bearer realm="Dropbox-API"')])
        try:
            if endpoint == "users/get_current_account":
                return self.answer(200, who("dropbox"))
            if endpoint in RPC:
                arg = self.rpc_arg(body)
                with LOCK:
                    result = RPC[endpoint](arg)
                return self.answer(200, result)
            if endpoint in UPLOADS:
                return self.upload(UPLOADS[endpoint], body)
            if endpoint == "files/download":
                return self.download()
        except DropboxError as e:
            if e.error is None:
                text = f'Error in call to API function "{endpoint}": {e.summary}'
                return self.send(e.status, text.encode(), "text/plain; charset=utf-8")
            return self.answer(e.status, {"error_summary": e.summary + "/...", "error": e.error})
        self.answer(404, {"error": "not_found"})

    def rpc_arg(self, body):
        if body is None:
            raise DropboxError(400, "request body: too large")
        # Dropbox reads RPC arguments as JSON only (a form-encoded body is refused).
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body and ctype not in ("application/json", "text/plain"):
            raise DropboxError(400, f'Bad HTTP "Content-Type" header: "{ctype}". Expecting one '
                                    'of "application/json", "application/json; charset=utf-8", '
                                    '"text/plain; charset=dropbox-cors-hack".')
        try:
            arg = json.loads(body or b"null")
        except ValueError:
            raise DropboxError(400, "request body: could not decode input as JSON")
        if not isinstance(arg, dict):
            raise DropboxError(400, "request body: expected a JSON object")
        return arg

    def content_arg(self):
        """The argument of a content call: `Dropbox-API-Arg`, or the `arg` URL parameter."""
        raw = self.headers.get("Dropbox-API-Arg")
        if raw is not None:
            # http.server reads headers as Latin-1; a client that did not escape non-ASCII
            # characters (as Dropbox asks) sent UTF-8.
            try:
                raw = raw.encode("latin-1").decode("utf-8")
            except UnicodeError:
                pass
        else:
            raw = (parse_qs(urlparse(self.path).query).get("arg") or [None])[0]
        if raw is None:
            raise DropboxError(400, 'Must provide HTTP header "Dropbox-API-Arg" or URL '
                                    'parameter "arg".')
        try:
            arg = json.loads(raw)
        except ValueError:
            raise DropboxError(400, 'HTTP header "Dropbox-API-Arg": could not decode input '
                                    'as JSON')
        if not isinstance(arg, dict):
            raise DropboxError(400, 'HTTP header "Dropbox-API-Arg": expected a JSON object')
        return arg

    def upload(self, call, body):
        """A content-upload call (files/upload, files/upload_session/...): `call` answers the
        argument (Dropbox-API-Arg) and the bytes (the body, at most 150 MiB)."""
        ctype = (self.headers.get("Content-Type") or "").strip().lower()
        if ctype.split(";")[0].strip() != "application/octet-stream" and \
                ctype != "text/plain; charset=dropbox-cors-hack":
            raise DropboxError(400, f'Bad HTTP "Content-Type" header: "{ctype}". Expecting one '
                                    'of "application/octet-stream", '
                                    '"text/plain; charset=dropbox-cors-hack".')
        arg = self.content_arg()
        if body is None:
            raise DropboxError(409, "payload_too_large", {".tag": "payload_too_large"})
        with LOCK:
            result = call(arg, body)
        self.answer(200, result)

    def download(self):
        arg = self.content_arg()
        with LOCK:
            data, meta = download(arg)
        size = len(data)
        # ensure_ascii: the header carries non-ASCII names escaped, as Dropbox sends them.
        headers = [("Dropbox-API-Result", json.dumps(meta)), ("Accept-Ranges", "bytes")]
        span = byte_range(self.headers.get("Range"), size)
        if span is False:
            return self.send(416, b"", "text/plain", [("Content-Range", f"bytes */{size}")])
        if span is None:
            return self.send(200, data, "application/octet-stream", headers)
        first, last = span
        self.send(206, data[first:last + 1], "application/octet-stream",
                  headers + [("Content-Range", f"bytes {first}-{last}/{size}")])


    # --- OneDrive (Graph v1.0) files: /onedrive/v1.0/me/drive[/...] ----------------------

    def do_PATCH(self):
        self.count()
        body = self.read_body()
        provider, rest = self.provider()
        if self.is_drive_files(provider, rest):
            return googledrive_api.handle(self, "PATCH", rest, body, throttled)
        self.answer(404, {"error": "not_found"})

    def do_PUT(self):
        path = self.count()
        body = self.read_body()
        if self.box("PUT", path, body):
            return
        if path.startswith("/googledrive-upload/"):
            return googledrive_api.session(self, "PUT", path[len("/googledrive-upload/"):], body)
        if path.startswith("/onedrive-upload/"):
            return self.od_upload_url("PUT", path[len("/onedrive-upload/"):], body)
        provider, rest = self.provider()
        if self.is_graph_files(provider, rest):
            return self.onedrive("PUT", rest, body)
        self.answer(404, {"error": "not_found"})

    def do_DELETE(self):
        path = self.count()
        body = self.read_body()
        if self.box("DELETE", path, body):
            return
        if path.startswith("/googledrive-upload/"):
            token = path[len("/googledrive-upload/"):]
            return googledrive_api.session(self, "DELETE", token, body)
        if path.startswith("/onedrive-upload/"):
            return self.od_upload_url("DELETE", path[len("/onedrive-upload/"):], body)
        provider, rest = self.provider()
        if self.is_graph_files(provider, rest):
            return self.onedrive("DELETE", rest, body)
        if self.is_drive_files(provider, rest):
            return googledrive_api.handle(self, "DELETE", rest, body, throttled)
        self.answer(404, {"error": "not_found"})

    @staticmethod
    def is_drive_files(provider, rest):
        return provider == "googledrive" and (
            rest.startswith("/drive/v3/files") or rest.startswith("/upload/drive/v3/files"))

    @staticmethod
    def is_graph_files(provider, rest):
        return provider == "onedrive" and (
            rest == "/v1.0/me/drive" or rest.startswith("/v1.0/me/drive/"))

    def base_url(self):
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        return "http://" + host

    def graph_error(self, e, headers=()):
        self.answer(e.status, {"error": {"code": e.code, "message": e.message, "innerError": {
            "date": stamp(), "request-id": str(uuid.uuid4()),
            "client-request-id": str(uuid.uuid4())}}, **e.extra}, headers)

    def graph_throttled(self):
        self.graph_error(GraphError(
            429, "activityLimitReached",
            "The request has been throttled. Retry after the interval in Retry-After."),
            [("Retry-After", "1")])

    def onedrive(self, method, rest, body):
        if method == "POST" and rest.endswith(":/createUploadSession"):
            self.tally(SESSION_CALLS["POST createUploadSession"])
        if throttled():
            return self.graph_throttled()
        if not self.bearer("onedrive"):
            return self.graph_error(GraphError(
                401, "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid."),
                [("WWW-Authenticate", 'Bearer realm="", error="invalid_token"')])
        try:
            self.graph(method, rest, body)
        except GraphError as e:
            self.graph_error(e)

    def graph(self, method, rest, body):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if rest == "/v1.0/me/drive":
            if method != "GET":
                raise GraphError(405, "methodNotAllowed", f"{method} is not allowed here.")
            with LOCK:
                used = od_size(OD_TREE[""])
            total = 5 << 40
            return self.answer(200, {
                "id": OD_DRIVE_ID, "driveType": "personal",
                "owner": {"user": {"id": who("onedrive")["id"], "displayName": "Ada"}},
                "quota": {"total": total, "used": used, "remaining": total - used,
                          "deleted": 0, "state": "normal"}})
        names, action = od_address(rest[len("/v1.0/me/drive/"):])
        if_match = self.headers.get("If-Match")
        if (method, action) == ("GET", ""):
            with LOCK:
                item = od_item(od_find(od_key(names)))
            return self.answer(200, item)
        if (method, action) == ("GET", "children"):
            try:
                top = int(query.get("$top", "200"))
            except ValueError:
                top = 0
            if top < 1:
                raise GraphError(400, "invalidRequest", "Invalid $top.")
            top = min(top, 999)
            with LOCK:
                value, token = od_children(names, top, query.get("$skiptoken"))
            page = {"value": value}
            if token:
                params = {k: v for k, v in query.items() if k not in ("$top", "$skiptoken")}
                params.update({"$top": str(top), "$skiptoken": token})
                page["@odata.nextLink"] = self.base_url() + url.path + "?" + "&".join(
                    quote(k, safe="$@.") + "=" + quote(v, safe="") for k, v in params.items())
            return self.answer(200, page)
        if (method, action) == ("GET", "content"):
            with LOCK:
                item = od_find(od_key(names))
                if item["folder"]:
                    raise GraphError(400, "invalidRequest", "A folder has no content.")
                token = secrets.token_urlsafe(32)
                OD_DOWNLOADS[token] = item["data"]
            self.send_response(302)
            self.send_header("Location", f"{self.base_url()}/onedrive-download/{token}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if (method, action) == ("PUT", "content"):
            behaviour = od_behaviour(query.get("@microsoft.graph.conflictBehavior"), "replace")
            with LOCK:
                status, item = od_upload(names, body, if_match, behaviour)
            return self.answer(status, item)
        if (method, action) == ("POST", "createUploadSession"):
            try:
                arg = json.loads(body or b"{}")  # the body is optional
            except ValueError:
                arg = None
            if not isinstance(arg, dict):
                raise GraphError(400, "invalidRequest", "The body is not a JSON object.")
            with LOCK:
                session = od_create_session(names, arg, if_match, self.base_url())
            return self.answer(200, session)
        if (method, action) == ("DELETE", ""):
            with LOCK:
                od_delete(names, if_match)
            self.send_response(204)
            self.end_headers()
            return
        if (method, action) == ("POST", "children"):
            try:
                arg = json.loads(body or b"null")
            except ValueError:
                arg = None
            if not isinstance(arg, dict):
                raise GraphError(400, "invalidRequest", "The body is not a JSON object.")
            with LOCK:
                status, item = od_create_folder(
                    names, arg, query.get("@microsoft.graph.conflictBehavior"))
            return self.answer(status, item)
        raise GraphError(400, "invalidRequest", f"{method} {action or 'item'} is not supported.")

    def od_upload_url(self, method, token, body):
        """An upload session's URL: PUT a fragment, GET what it still expects, DELETE it (204).
        The URL is the credential: Graph says to send no Authorization with it (it may answer
        401 to one), so one sent is refused here, to catch a client sending its token along."""
        self.tally(SESSION_CALLS[f"{method} /onedrive-upload"])
        if throttled():
            return self.graph_throttled()
        if self.headers.get("Authorization") is not None:
            return self.graph_error(GraphError(
                401, "unauthenticated",
                "Upload URLs are pre-authenticated: send no Authorization header."))
        try:
            if method == "PUT":
                if self.headers.get("Content-Length") is None:
                    raise GraphError(411, "invalidRequest", "Content-Length is required.")
                with LOCK:
                    status, answer = od_fragment(token, self.headers.get("Content-Range"), body)
                return self.answer(status, answer)
            with LOCK:
                session = od_session(token)
                if method == "DELETE":
                    del OD_SESSIONS[token]
                answer = od_progress(session)
            if method == "GET":
                return self.answer(200, answer)
            self.send_response(204)
            self.end_headers()
        except GraphError as e:
            self.graph_error(e)

    def od_download(self, token):
        """A pre-authenticated download URL: no Authorization needed (any sent is ignored)."""
        with LOCK:
            data = OD_DOWNLOADS.get(token)
        if data is None:
            return self.graph_error(GraphError(404, "itemNotFound", "Unknown download URL."))
        self.send_ranged(data)

    def send_ranged(self, data):
        """The bytes of a file the request's Range asks for (206), or all of them (200)."""
        size = len(data)
        headers = [("Accept-Ranges", "bytes")]
        span = byte_range(self.headers.get("Range"), size)
        if span is False:
            return self.send(416, b"", "text/plain", [("Content-Range", f"bytes */{size}")])
        if span is None:
            return self.send(200, data, "application/octet-stream", headers)
        first, last = span
        self.send(206, data[first:last + 1], "application/octet-stream",
                  headers + [("Content-Range", f"bytes {first}-{last}/{size}")])


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"READY {server.server_address[1]}", flush=True)
server.serve_forever()
