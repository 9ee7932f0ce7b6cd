// Test SAML 2.0 Identity Provider for the SAML SSO integration tests: the npm package
// saml-idp 1.2.1 (Karl McGuinness' "Simple IdP"), unchanged, started through this thin
// wrapper. saml-idp depends on samlp from a GitHub fork, which npm cannot fetch here;
// package.json "overrides" replaces it with samlp 8.0.0 from the registry (the fork's
// upstream, which has every feature saml-idp uses except --authnContextDecl).
//
// WHY A WRAPPER: saml-idp logs everything (banner, one line per request, the whole SAML
// response) to stdout, and dies of EPIPE at its next request if whoever started it closed
// its stdout after reading the readiness line. Here all of that goes to stderr and stdout
// gets exactly one line, `READY http://<host>:<port>`, once listening; nothing else.
// PORT and HOST in the environment would override --port/--host in saml-idp: dropped.
//
// RUN
//   cp tests/idp/saml/package.json tests/idp/saml/package-lock.json "$DIR"/ && npm ci --prefix "$DIR"
//   IDP_MODULES="$DIR/node_modules" node tests/idp/saml/run.cjs --host 127.0.0.1 --port P \
//     --cert tests/fixtures/saml-idp.crt --key tests/fixtures/saml-idp.key \
//     --issuer urn:click:test-idp --acsUrl http://127.0.0.1:A/sso/saml_acs \
//     --audience urn:click:test --no-signResponse
//   (all arguments go to saml-idp unchanged; without IDP_MODULES, tests/idp/saml/node_modules.)
//   If P is taken, the process exits non-zero without printing READY.
//
// BROWSER-LESS LOGIN (SP-initiated, HTTP-Redirect binding); cookie idp_sid is optional
//   1. GET  /saml/sso?SAMLRequest=<urlencoded base64 of raw-DEFLATEd AuthnRequest>&RelayState=<rs>
//      -> 200 text/html, <form action="/signin" method="post"> with the profile inputs and
//         <input name="_authnRequest" type='hidden' value='BASE64'> (HTML-escaped: '=' is &#x3D;),
//         base64 of JSON {relayState, id, issuer, destination, acsUrl, forceAuthn}
//   2. POST /signin, application/x-www-form-urlencoded:
//         _authnRequest=<unescaped value>&userName=<NameID>&email=..&firstName=..&lastName=..
//         &groups=<comma-separated, no spaces>   (one groups field only: repeated -> 500)
//      -> 200 text/html, <form method="post" name="hiddenform" action="<ACS URL>"> with
//         <input type="hidden" name="SAMLResponse" value="BASE64"> and
//         <input type="hidden" name="RelayState" value="<rs>">, both HTML-escaped.
//   The profile is ONE global object that each POST updates: fields not posted keep the
//   value of the previous login. Always post userName, email, firstName, lastName, groups.
'use strict';

const path = require('path');
const http = require('http');

const realWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);
delete process.env.PORT;
delete process.env.HOST;

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  this.once('listening', () => {
    const { address, port } = this.address();
    const host = address.includes(':') ? `[${address}]` : address;
    realWrite(`READY http://${host}:${port}\n`);
  });
  return listen.apply(this, args);
};

const modules = process.env.IDP_MODULES || path.join(__dirname, 'node_modules');
require(path.join(modules, 'saml-idp', 'app.js')).main();
