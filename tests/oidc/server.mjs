// Local OpenID Connect provider for the test suite (oidc-provider 9.x, test-only dependency).
//
// Usage:
//   node tests/oidc/server.mjs CONFIG.json [PORT]
//   OIDC_CONFIG=CONFIG.json OIDC_PORT=0 node tests/oidc/server.mjs
//
// PORT 0 (the default) picks a free port. The server listens on 127.0.0.1 only and, once it
// accepts connections, prints exactly one JSON line on stdout:
//   {"issuer": "http://127.0.0.1:PORT", "port": PORT}
// Everything else (oidc-provider's development warnings, errors) goes to stderr.
// SIGTERM / SIGINT close the server and exit 0. With OIDC_EXIT_ON_STDIN_EOF=1 the process also
// exits when its stdin is closed (the Python helper uses this so an orphaned provider never lingers).
//
// CONFIG.json:
//   {
//     "clients": [
//       {"client_id": "innovate", "client_secret": "s3cret",
//        "redirect_uris": ["http://127.0.0.1:8000/auth/oidc/callback"],
//        "token_endpoint_auth_method": "client_secret_post"}      // or client_secret_basic (default);
//                                                                  // "none" = public client
//       // any other oidc-provider client metadata (post_logout_redirect_uris, ...) is passed through
//     ],
//     "accounts": {
//       "alice": {"email": "alice@example.com", "email_verified": true, "name": "Alice", "tid": "t1"}
//     },
//     "require_pkce": false,   // optional: true = PKCE (S256) required for every client
//     "claims": {}             // optional: extra/overriding scope -> [claim, ...] mappings
//   }
// The account id is the `sub`. Scope -> claims (default):
//   openid  -> sub, tid        (tid is issued whenever the account has one)
//   email   -> email, email_verified
//   profile -> name, given_name, family_name, preferred_username, locale, picture
// Scope claims are put into the id_token too (conformIdTokenClaims: false), and the id_token
// carries the `nonce` of the authorization request. PKCE: only S256 is accepted; it is required
// for public clients (token_endpoint_auth_method "none") and optional for confidential ones.
//
// Login flow with the built-in development interactions (features.devInteractions):
//   1. GET  {issuer}/auth?response_type=code&client_id=..&redirect_uri=..&scope=openid email profile
//           &state=..&nonce=..&code_challenge=..&code_challenge_method=S256
//      -> 303 to /interaction/{uid} (sets the _interaction and _interaction_resume cookies,
//         so the same cookie jar must be used for every following step).
//   2. GET  /interaction/{uid} -> HTML login form: <form action="/interaction/{uid}" method="post">
//      with fields  prompt=login (hidden), login (text), password (password).
//   3. POST that form with login=<account id> and any password -> 303 to /auth/{uid}
//      -> 303 to /interaction/{uid2}.
//      An unknown account id makes the provider show the login form again.
//   4. GET  /interaction/{uid2} -> HTML consent form: <form action="/interaction/{uid2}" method="post">
//      with the single field  prompt=consent (hidden).
//   5. POST that form -> 303 to /auth/{uid2} -> 303 to {redirect_uri}?code=..&state=..&iss=..
//   6. POST {issuer}/token with grant_type=authorization_code, code, redirect_uri, code_verifier and
//      the client credentials (form fields for client_secret_post, HTTP Basic for client_secret_basic).
// Discovery: {issuer}/.well-known/openid-configuration; JWKS: {issuer}/jwks; userinfo: {issuer}/me.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';

const DEFAULT_CLAIMS = {
  openid: ['sub', 'tid'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'picture'],
};

function fail(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

const configPath = process.argv[2] || process.env.OIDC_CONFIG;
if (!configPath) fail('usage: node server.mjs CONFIG.json [PORT] (or set OIDC_CONFIG)');

let config;
try {
  config = JSON.parse(readFileSync(configPath, 'utf8'));
} catch (err) {
  fail(`cannot read config ${configPath}: ${err.message}`);
}

const requestedPort = Number(process.argv[3] ?? process.env.OIDC_PORT ?? 0);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  fail(`invalid port ${process.argv[3] ?? process.env.OIDC_PORT}`);
}

const accounts = config.accounts ?? {};
if (typeof accounts !== 'object' || Array.isArray(accounts)) fail('"accounts" must be an object');

const clients = (config.clients ?? []).map((client) => {
  if (!client.client_id) fail('every client needs a client_id');
  const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
  return {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...client,
    token_endpoint_auth_method: method,
  };
});

// A fresh signing key per process instead of oidc-provider's built-in development keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' };

// Listen first so that port 0 resolves to the real port, which is part of the issuer.
let handler = (req, res) => {
  res.statusCode = 503;
  res.end('starting');
};
const server = createServer((req, res) => handler(req, res));

server.listen(requestedPort, HOST, () => {
  const { port } = server.address();
  const issuer = `http://${HOST}:${port}`;

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    cookies: {
      // Signing keys for the session/interaction cookies. Over plain http the cookies are simply
      // not marked Secure (oidc-provider sets Secure only when the request itself is https).
      keys: [randomBytes(32).toString('hex')],
    },
    claims: { ...DEFAULT_CLAIMS, ...(config.claims ?? {}) },
    conformIdTokenClaims: false,
    pkce: {
      required: (ctx, client) => Boolean(config.require_pkce) || client.clientAuthMethod === 'none',
    },
    features: {
      devInteractions: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    async findAccount(ctx, sub) {
      const claims = Object.hasOwn(accounts, sub) ? accounts[sub] : undefined;
      if (claims === undefined) {
        process.stderr.write(`oidc test provider: unknown account ${JSON.stringify(sub)}\n`);
        return undefined;
      }
      return {
        accountId: sub,
        async claims() {
          return { ...claims, sub };
        },
      };
    },
    // Refresh tokens only when the client asks for offline_access.
    async issueRefreshToken(ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    renderError(ctx, out, error) {
      ctx.type = 'json';
      ctx.body = { ...out, detail: error?.message };
    },
  });

  provider.on('server_error', (ctx, err) => process.stderr.write(`oidc test provider: server_error ${err?.stack ?? err}\n`));

  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

server.on('error', (err) => fail(`cannot listen on ${HOST}:${requestedPort}: ${err.message}`));

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.OIDC_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
