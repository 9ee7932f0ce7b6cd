"""Local stand-ins for the OAuth endpoints of Dropbox, Box, OneDrive (Microsoft identity
platform and Graph) and Google Drive, as each documents them: the authorization endpoint
(code flow with PKCE S256, approved at once for the test user), the token endpoint
(authorization_code and refresh_token grants, client_secret_basic or client_secret_post,
single-use codes, invalid_grant for anything wrong) and each provider's "who am I" call.
These SaaS cannot be reached from the test machines; the agent reaches these through its
configurable `[oauth.<provider>]` URLs.

Run: python3 oauth_providers.py CLIENT_ID CLIENT_SECRET -> prints `READY <port>`, serves on
127.0.0.1 until killed. Paths: /<provider>/authorize, /<provider>/token, and
/dropbox/2/users/get_current_account (POST), /box/2.0/users/me, /onedrive/v1.0/me,
/googledrive/drive/v3/about?fields=user.
"""

import base64
import hashlib
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

CLIENT_ID, CLIENT_SECRET = sys.argv[1], sys.argv[2]
PROVIDERS = ("dropbox", "box", "onedrive", "googledrive")
LOCK = threading.Lock()
CODES = {}  # code -> {provider, challenge, redirect_uri}
ACCESS = {}  # access token -> provider
REFRESH = {}  # refresh token -> provider


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


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, error, description):
        self.answer(400, {"error": error, "error_description": description})

    def provider(self):
        parts = urlparse(self.path).path.strip("/").split("/")
        return (parts[0], "/" + "/".join(parts[1:])) if parts[0] in PROVIDERS else (None, None)

    def do_GET(self):
        provider, rest = self.provider()
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
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        with LOCK:
            ok = ACCESS.get(token) == provider
        if not ok:
            return self.answer(401, {"error": "invalid_token"})
        self.answer(200, who(provider))

    def do_POST(self):
        provider, rest = self.provider()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if rest == "/2/users/get_current_account":
            return self.me(provider)
        if rest != "/token":
            return self.answer(404, {"error": "not_found"})
        form = {k: v[0] for k, v in parse_qs(raw).items()}
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
            else:
                return self.refuse("unsupported_grant_type", str(grant))
            access = secrets.token_urlsafe(32)
            ACCESS[access] = provider
        self.answer(200, {"access_token": access, "token_type": "bearer",
                          "expires_in": 3600, "refresh_token": refresh})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"READY {server.server_address[1]}", flush=True)
server.serve_forever()
