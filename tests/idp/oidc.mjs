// Test OpenID Provider standing in for Okta or Microsoft Entra ID, built on
// panva's oidc-provider (the real protocol engine) plus fake directory APIs.
//
// RUN
//   cp tests/idp/package.json tests/idp/package-lock.json "$DIR"/ && npm ci --prefix "$DIR"
//   IDP_MODULES="$DIR/node_modules" node tests/idp/oidc.mjs --port P --flavor okta|entra \
//     --client-id ID --client-secret SECRET --users N --groups G [--redirect-uri URI ...]
//     [--max-page M]   (directory pages hold at most M entries, whatever the client asks)
//   (NODE_PATH is ignored by ESM imports, hence IDP_MODULES; without it the
//   script imports normally, i.e. from tests/idp/node_modules.)
//   stdout gets exactly one line, `READY <issuer>`, once listening on 127.0.0.1:P;
//   all logging goes to stderr. Runs until killed.
//
// ISSUER / DISCOVERY = <issuer>/.well-known/openid-configuration
//   okta : http://127.0.0.1:P/oauth2/default     endpoints /oauth2/default/v1/{authorize,token,keys,userinfo}
//   entra: http://127.0.0.1:P/<TENANT>/v2.0      endpoints /<TENANT>/oauth2/v2.0/{authorize,token}, /<TENANT>/discovery/v2.0/keys
//   (as with the real Entra, its endpoints are NOT under the issuer path)
//
// CLIENT: confidential, client_secret_basic or client_secret_post, code flow, PKCE S256
// mandatory. Redirect URIs: the --redirect-uri list (default http://127.0.0.1:9/sso/callback
// and http://localhost:9/sso/callback) and ALSO any http://127.0.0.1|localhost|[::1] URI.
//
// BROWSER-LESS LOGIN (cookies: keep every Set-Cookie name=value, send them all back;
// Path/SameSite/expiry may be ignored; cookies are signed, so there are *.sig twins)
//   1. GET  <authorization_endpoint>?response_type=code&client_id&redirect_uri&scope=openid
//           email profile groups&state&nonce&code_challenge&code_challenge_method=S256
//      -> 303, Location: <mount>/interaction/<uid> (path only, no origin)
//         Set-Cookie: _interaction, _interaction.sig, _interaction_resume, _interaction_resume.sig
//   2. GET  <mount>/interaction/<uid> (cookies) -> 200 text/html,
//      <form method="post" action="<mount>/interaction/<uid>"> with inputs login, password
//   3. POST <mount>/interaction/<uid> (cookies), application/x-www-form-urlencoded
//      login=<email>&password=<pw>
//      -> bad credentials: 200, form again, contains "Invalid login"
//      -> ok: 303, Location: http://127.0.0.1:P<authorization path>/<uid> (absolute)
//   4. GET  that Location (cookies) -> 303, Location: <redirect_uri>?code=..&state=..&iss=<issuer>
//      Set-Cookie: _session, _session.sig (a later authorize with them skips the login)
//   Consent is granted automatically (loadExistingGrant below). <mount> is /oauth2/default
//   (okta) or /<TENANT> (entra).
//
// DIRECTORY APIs (Authorization: Bearer <access_token from the code flow>; 401 JSON otherwise)
//   okta : GET /api/v1/users, /api/v1/groups, /api/v1/groups/{id}/users   ?limit=L&after=CURSOR
//          paging by Link headers: rel="self" always, rel="next" when more remain (two
//          separate Link headers, as Okta sends them)
//   entra: GET /graph/v1.0/users, /graph/v1.0/groups, /graph/v1.0/groups/{id}/members
//          ?$select=..&$top=T (default 100, max 999); "@odata.nextLink" (with $skiptoken)
// TAMPERING: POST /_test/id_token_mode {"mode": M} / GET /_test/id_token_mode; M is one of
//   normal expired wrong-aud wrong-iss wrong-nonce other-key alg-none (sticky until normal).

import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// oidc-provider prints NOTICEs with console.info; stdout is reserved for READY.
console.info = console.log = (...a) => console.error(...a);

async function load(name) {
  const dir = process.env.IDP_MODULES;
  if (!dir) return import(name);
  // createRequire from a file inside node_modules resolves packages from that very
  // directory; the resolved absolute file is then loaded as ESM.
  const require = createRequire(path.join(path.resolve(dir), '_.js'));
  return import(pathToFileURL(require.resolve(name)).href);
}
const { default: Provider } = await load('oidc-provider');
const jose = await load('jose');

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    flavor: { type: 'string', default: 'okta' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    users: { type: 'string', default: '10' },
    groups: { type: 'string', default: '3' },
    'redirect-uri': { type: 'string', multiple: true },
    // Directory pages never hold more than this, whatever the client asks (real servers may
    // answer with fewer than asked too): clients must follow the pages.
    'max-page': { type: 'string', default: '999' },
  },
});
const MAX_PAGE = Math.max(1, Number(opt['max-page']) || 999);
const PORT = Number(opt.port);
const FLAVOR = opt.flavor;
const N = Number(opt.users);
const G = Number(opt.groups);
if (!PORT || !['okta', 'entra'].includes(FLAVOR) || !opt['client-id'] || !opt['client-secret'] || !(G >= 1)) {
  console.error('usage: oidc.mjs --port P --flavor okta|entra --client-id ID --client-secret S --users N --groups G [--redirect-uri U]...');
  process.exit(2);
}
const OKTA = FLAVOR === 'okta';
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TENANT = '4f3c8a2e-9b1d-4e6f-8a7c-2d5e9f0b1c3a';
// MOUNT prefixes every provider endpoint; the issuer differs from it for Entra only.
const MOUNT = OKTA ? '/oauth2/default' : `/${TENANT}`;
const ISSUER = OKTA ? `${ORIGIN}/oauth2/default` : `${ORIGIN}/${TENANT}/v2.0`;
const ISSUER_PATH = new URL(ISSUER).pathname;

// ---- directory: ids are pure functions of the index so tests can predict them ----
const pad = (n, w) => String(n).padStart(w, '0');
const guid = (kind, n) => `${kind}-0000-4000-8000-${pad(n.toString(16), 12)}`;
const userId = (i) => (OKTA ? `00u${pad(i, 17)}` : guid('aaaaaaaa', i));
const groupId = (j) => (OKTA ? `00g${pad(j, 17)}` : guid('bbbbbbbb', j));

const groups = [];
for (let j = 1; j <= G; j += 1) groups.push({ id: groupId(j), name: `group-${j}`, members: [] });
const admins = { id: groupId(0), name: 'Admins', members: [] };
groups.push(admins);

const users = [];
const addUser = (i, email, password, given, family, groupList) => {
  const u = { id: userId(i), email, password, given, family, groups: groupList };
  // Entra's sub is pairwise and opaque (per user and client), unlike its oid.
  u.sub = OKTA ? u.id : crypto.createHash('sha256').update(`${u.id}:${opt['client-id']}`).digest('base64url').slice(0, 43);
  groupList.forEach((g) => g.members.push(u));
  users.push(u);
};
addUser(0, 'admin@example.com', 'admin-pass', 'Admin', 'User', [groups[0], admins]);
for (let i = 1; i <= N; i += 1) {
  addUser(i, `user${i}@example.com`, `pass-${i}`, 'User', String(i), [groups[(i - 1) % G]]);
}
const bySub = new Map(users.map((u) => [u.sub, u]));
const byEmail = new Map(users.map((u) => [u.email, u]));

function claimsOf(u) {
  const c = {
    sub: u.sub, email: u.email, given_name: u.given, family_name: u.family,
    name: `${u.given} ${u.family}`, preferred_username: u.email,
  };
  if (OKTA) return { ...c, email_verified: true, groups: u.groups.map((g) => g.name) };
  return { ...c, oid: u.id, tid: TENANT, groups: u.groups.map((g) => g.id) };
}

// ---- keys: generated here (not by the provider) so /_test can re-sign with them ----
const KID = 'idp-key-1';
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
const { privateKey: rogueKey } = await jose.generateKeyPair('RS256');

const redirectUris = opt['redirect-uri'] ?? ['http://127.0.0.1:9/sso/callback', 'http://localhost:9/sso/callback'];
const routes = OKTA
  ? { authorization: '/v1/authorize', token: '/v1/token', jwks: '/v1/keys', userinfo: '/v1/userinfo', end_session: '/v1/logout' }
  : { authorization: '/oauth2/v2.0/authorize', token: '/oauth2/v2.0/token', jwks: '/discovery/v2.0/keys', userinfo: '/oidc/userinfo', end_session: '/oauth2/v2.0/logout' };

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: opt['client-id'],
    client_secret: opt['client-secret'],
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', // oidc-provider accepts _post for it too
  }],
  jwks: { keys: [signingJwk] },
  routes,
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] }, // sameSite lax, not Secure: fine on http
  claims: OKTA
    ? { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'preferred_username'], groups: ['groups'] }
    // Entra emits oid/tid/groups whatever the scopes; `groups` is still accepted as a scope.
    : { openid: ['sub', 'oid', 'tid', 'groups'], email: ['email'], profile: ['name', 'given_name', 'family_name', 'preferred_username'], groups: ['groups'] },
  conformIdTokenClaims: false, // scope claims go into the ID token, not only userinfo
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 86400, Grant: 86400 },
  findAccount: (ctx, sub) => {
    const u = bySub.get(sub);
    return u && { accountId: sub, claims: () => claimsOf(u) };
  },
  // No consent screen: every authorization by a logged-in user gets a grant for
  // exactly what it asks, so the login POST leads straight to the code.
  loadExistingGrant: async (ctx) => {
    if (!ctx.oidc.session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session.accountId, clientId: ctx.oidc.client.clientId });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...ctx.oidc.requestParamClaims ?? []]);
    await grant.save();
    return grant;
  },
  renderError: (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});
// Any loopback http redirect URI is acceptable, whatever was registered.
const registered = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function allowLoopback(uri) {
  try {
    const u = new URL(uri);
    if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && !u.hash) return true;
  } catch { /* fall through */ }
  return registered.call(this, uri);
};

// ---- ID token tampering, applied to the token endpoint's JSON after the provider ----
const MODES = ['normal', 'expired', 'wrong-aud', 'wrong-iss', 'wrong-nonce', 'other-key', 'alg-none'];
let mode = 'normal';
provider.use(async (ctx, next) => {
  await next();
  if (mode === 'normal' || ctx.method !== 'POST' || ctx.path !== routes.token || !ctx.body?.id_token) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  const sign = (c, key = privateKey) => new jose.SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(key);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  let idToken;
  switch (mode) {
    case 'expired': idToken = await sign({ ...claims, iat: now - 3 * 3600, exp: now - 2 * 3600 }); break;
    case 'wrong-aud': idToken = await sign({ ...claims, aud: 'someone-else' }); break;
    // Defeats prefix checks: the forged issuer starts with the real one.
    case 'wrong-iss': idToken = await sign({ ...claims, iss: `${ISSUER}-attacker` }); break;
    case 'wrong-nonce': idToken = await sign({ ...claims, nonce: `tampered-${crypto.randomUUID()}` }); break;
    case 'other-key': idToken = await sign(claims, rogueKey); break;
    case 'alg-none': idToken = `${b64({ alg: 'none' })}.${b64(claims)}.`; break;
    default: return;
  }
  ctx.body = { ...ctx.body, id_token: idToken };
});

// ---- plain node HTTP around the provider ----
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const readBody = async (req) => {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s;
};
const send = (res, status, body, headers = {}) => {
  const isJson = typeof body !== 'string';
  res.writeHead(status, { 'content-type': isJson ? 'application/json' : 'text/html; charset=utf-8', ...headers });
  res.end(isJson ? JSON.stringify(body) : body);
};
const loginPage = (uid, login = '', error = '') => `<!DOCTYPE html>
<html><head><title>Sign in</title></head><body>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="${MOUNT}/interaction/${esc(uid)}">
<input type="text" name="login" value="${esc(login)}">
<input type="password" name="password">
<button type="submit">Sign in</button>
</form></body></html>`;

async function interaction(req, res, uid) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    return send(res, 400, { error: 'invalid_request', error_description: e.error_description ?? e.message });
  }
  if (details.uid !== uid) return send(res, 400, { error: 'invalid_request', error_description: 'interaction mismatch' });
  if (req.method === 'GET') return send(res, 200, loginPage(uid));
  if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
  const form = new URLSearchParams(await readBody(req));
  const login = form.get('login') ?? '';
  const u = byEmail.get(login.toLowerCase());
  if (!u || u.password !== form.get('password')) return send(res, 200, loginPage(uid, login, 'Invalid login'));
  return provider.interactionFinished(req, res, { login: { accountId: u.sub } }, { mergeWithLastSubmission: false });
}

function directoryError(res, status, message) {
  return send(res, status, OKTA
    ? { errorCode: { 401: 'E0000011', 404: 'E0000007' }[status] ?? 'E0000001', errorSummary: message, errorCauses: [] }
    : { error: { code: { 401: 'InvalidAuthenticationToken', 404: 'Request_ResourceNotFound' }[status] ?? 'BadRequest', message } });
}

// Okta Management API shapes; `after` is the id of the last item of the previous page.
function okta(res, url, parts) {
  const oktaUser = (u) => ({
    id: u.id, status: 'ACTIVE',
    profile: { login: u.email, email: u.email, firstName: u.given, lastName: u.family },
  });
  let list;
  if (parts.length === 1 && parts[0] === 'users') list = users.map(oktaUser);
  else if (parts.length === 1 && parts[0] === 'groups') {
    list = groups.map((g) => ({ id: g.id, type: 'OKTA_GROUP', profile: { name: g.name, description: `Test group ${g.name}` } }));
  } else if (parts.length === 3 && parts[0] === 'groups' && parts[2] === 'users') {
    const g = groups.find((x) => x.id === parts[1]);
    if (!g) return directoryError(res, 404, `Not found: Resource not found: ${parts[1]} (UserGroup)`);
    list = g.members.map(oktaUser);
  } else return directoryError(res, 404, 'Not found');
  const limit = Math.min(MAX_PAGE, Math.max(1, Number(url.searchParams.get('limit')) || 200));
  const after = url.searchParams.get('after');
  const start = after ? list.findIndex((x) => x.id === after) + 1 : 0;
  if (after && start === 0) return directoryError(res, 400, 'Api validation failed: after');
  const page = list.slice(start, start + limit);
  const link = [`<${url.href}>; rel="self"`];
  if (start + limit < list.length) {
    const next = new URL(url.pathname, ORIGIN);
    next.searchParams.set('limit', String(limit));
    next.searchParams.set('after', page[page.length - 1].id);
    link.push(`<${next.href}>; rel="next"`);
  }
  return send(res, 200, page, { link });
}

// Microsoft Graph v1.0 shapes; $skiptoken is an opaque offset.
function graph(res, url, parts) {
  const graphUser = (u) => ({
    id: u.id, userPrincipalName: u.email, mail: u.email, givenName: u.given, surname: u.family, displayName: `${u.given} ${u.family}`,
  });
  let list;
  let context;
  if (parts.length === 1 && parts[0] === 'users') [list, context] = [users.map(graphUser), 'users'];
  else if (parts.length === 1 && parts[0] === 'groups') [list, context] = [groups.map((g) => ({ id: g.id, displayName: g.name })), 'groups'];
  else if (parts.length === 3 && parts[0] === 'groups' && parts[2] === 'members') {
    const g = groups.find((x) => x.id === parts[1]);
    if (!g) return directoryError(res, 404, `Resource '${parts[1]}' does not exist or one of its queried reference-property objects are not present.`);
    list = g.members.map((u) => ({ '@odata.type': '#microsoft.graph.user', ...graphUser(u) }));
    context = 'directoryObjects';
  } else return directoryError(res, 404, 'Resource not found for the segment.');
  const select = url.searchParams.get('$select')?.split(',').map((s) => s.trim()).filter(Boolean);
  if (select) list = list.map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith('@') || select.includes(k))));
  const top = Math.min(999, MAX_PAGE, Math.max(1, Number(url.searchParams.get('$top')) || 100));
  const skip = url.searchParams.get('$skiptoken');
  const start = skip ? Number(Buffer.from(skip, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) return directoryError(res, 400, 'Invalid $skiptoken');
  const body = { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#${context}`, value: list.slice(start, start + top) };
  if (start + top < list.length) {
    const q = new URLSearchParams(url.search);
    q.set('$top', String(top));
    q.set('$skiptoken', Buffer.from(String(start + top)).toString('base64url'));
    // Graph writes $ and , literally in its links; URLSearchParams would escape them.
    const enc = (v) => encodeURIComponent(v).replace(/%24/g, '$').replace(/%2C/g, ',');
    body['@odata.nextLink'] = `${ORIGIN}${url.pathname}?${[...q].map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}`;
  }
  return send(res, 200, body);
}

async function directory(req, res, url, parts) {
  const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
  const token = m && await provider.AccessToken.find(m[1]); // undefined when unknown or expired
  if (!token || token.isExpired) return directoryError(res, 401, 'Invalid token provided');
  if (req.method !== 'GET') return directoryError(res, 404, 'Not found');
  return OKTA ? okta(res, url, parts) : graph(res, url, parts);
}

const providerCallback = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, ORIGIN);
    const p = url.pathname;
    if (p.startsWith(`${ISSUER_PATH}/.well-known/`) || (p.startsWith(`${MOUNT}/`) && !p.startsWith(`${MOUNT}/interaction/`))) {
      // Mount: the provider routes on the rest of the path and builds its URLs
      // from req.baseUrl (Entra discovery lives under /v2.0, its endpoints do not).
      const rest = p.startsWith(`${ISSUER_PATH}/.well-known/`) ? p.slice(ISSUER_PATH.length) : p.slice(MOUNT.length);
      req.url = rest + url.search;
      req.baseUrl = MOUNT;
      return providerCallback(req, res);
    }
    const im = p.match(new RegExp(`^${MOUNT}/interaction/([^/]+)$`));
    if (im) return await interaction(req, res, im[1]);
    if (p === '/_test/id_token_mode') {
      if (req.method === 'POST') {
        let m;
        try { m = JSON.parse(await readBody(req)).mode; } catch { /* invalid */ }
        if (!MODES.includes(m)) return send(res, 400, { error: `mode must be one of ${MODES.join(', ')}` });
        mode = m;
      }
      return send(res, 200, { mode });
    }
    const prefix = OKTA ? '/api/v1/' : '/graph/v1.0/';
    if (p.startsWith(prefix)) return await directory(req, res, url, p.slice(prefix.length).split('/').map(decodeURIComponent));
    return send(res, 404, { error: 'not_found' });
  } catch (e) {
    console.error(e);
    if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: e.message });
    else res.end();
  }
});
server.listen(PORT, '127.0.0.1', () => process.stdout.write(`READY ${ISSUER}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
