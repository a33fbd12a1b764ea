// The interop tests' identity provider: panva's oidc-provider (OpenID Certified), configured
// for the flows tower-entra's crates implement. Started by `interop/tests/*.rs`; loopback only.
//
// Input: the environment variable INTEROP_CONFIG, a JSON object:
//   { "port": 0,                        // 0: any free port
//     "client_jwks": { "keys": [..] },  // public JWKs of the private_key_jwt client
//     "client_jwt_alg": "RS256" }       // its token_endpoint_auth_signing_alg
// Output: one line `listening http://127.0.0.1:{port}` on stdout once it accepts connections.
//
// Admin routes of the harness (not part of oidc-provider):
//   POST /admin/rotate  a new signing key first; the old ones stay published (key rotation)
//   POST /admin/retire  only the newest signing key stays published
//
// Sources (oidc-provider 9 docs, https://github.com/panva/node-oidc-provider/blob/main/docs/README.md):
// - resource indicators, JWT access tokens per resource server:
//   https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresresourceindicators
// - custom grant types (RFC 8693 token exchange):
//   https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#custom-grant-types
// - interactions finished programmatically (interactionDetails / interactionFinished, the
//   consent grant): https://github.com/panva/node-oidc-provider/blob/main/example/routes/koa.js
// - RFC 9207: oidc-provider always returns `iss` in authorization responses and advertises
//   `authorization_response_iss_parameter_supported: true` (lib/actions/discovery.js).

import { createServer } from 'node:http';
import { generateKeyPair, exportJWK, createLocalJWKSet, jwtVerify } from 'jose';

// Two known warnings are expected here and would repeat in every test's output: Debian's Node 20
// is below oidc-provider 9's recommended Node 22 (it runs), and the in-memory adapter is what a
// test harness wants. Every other warning still shows.
const warn = console.warn;
console.warn = (...args) => {
  const text = String(args[0]);
  if (text.includes('Unsupported runtime') || text.includes('in-memory adapter')) return;
  warn(...args);
};
const { default: Provider, errors } = await import('oidc-provider');

const input = JSON.parse(process.env.INTEROP_CONFIG || '{}');
const HOST = '127.0.0.1';

// Resource servers (RFC 8707 indicators) and the scopes each defines. Every access token for
// one of them is an RFC 9068 JWT (`typ: at+jwt`), RS256.
const RESOURCE_SERVERS = {
  'api://s2s-example-api': 'files.write files.read',
  'api://backend-api': 'case.create case.read',
  'api://middle-api': 'middle.call',
  'api://shared-api': 'documents.read',
};

// Which resource's tokens a client may exchange (RFC 8693 `subject_token` audience).
const EXCHANGE_FROM = {
  'middle-tier': 'api://middle-api',
};

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const clients = [
  {
    client_id: 'svc-post',
    client_secret: 'svc-post-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'files.write files.read',
  },
  {
    client_id: 'svc-basic',
    client_secret: 'svc-basic-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'files.write files.read',
  },
  {
    client_id: 's2s-example-consumer',
    client_secret: 's2s-example-consumer-secret-0123456789',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'files.write',
  },
  {
    client_id: 'web-app',
    client_secret: 'web-app-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1:8080/callback'],
  },
  {
    client_id: 'middle-tier',
    client_secret: 'middle-tier-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials', TOKEN_EXCHANGE],
    response_types: [],
    redirect_uris: [],
  },
];

if (input.client_jwks) {
  clients.push({
    client_id: 'svc-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: input.client_jwt_alg || 'RS256',
    jwks: input.client_jwks,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'files.write files.read',
  });
}

async function newSigningKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = `interop-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

function publicJwk({ d, p, q, dp, dq, qi, ...rest }) {
  return rest;
}

let signingKeys = [await newSigningKey()];
let issuer;
let provider;

function configuration(keys) {
  return {
    clients,
    jwks: { keys },
    // Every account exists; the subject is the login name.
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, preferred_username: sub, name: sub };
        },
      };
    },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    scopes: [
      'openid', 'offline_access', 'profile',
      ...new Set(Object.values(RESOURCE_SERVERS).join(' ').split(' ')),
    ],
    pkce: { required: () => true },
    // Refresh tokens rotate on every use; a spent one is refused (and revokes the grant).
    rotateRefreshToken: () => true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No resource, no JWT: a client-credentials request without `resource` gets an
        // opaque token, as the issue describes (the docs' default policy).
        defaultResource(ctx, client, oneOf) {
          return oneOf;
        },
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resourceIndicator) {
          const scope = RESOURCE_SERVERS[resourceIndicator];
          if (!scope) throw new errors.InvalidTarget();
          return {
            scope,
            audience: resourceIndicator,
            accessTokenTTL: 3600, // an hour, Entra's and Okta's default
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 3600, ClientCredentials: 3600, RefreshToken: 3600, AuthorizationCode: 60 },
  };
}

// RFC 8693 token exchange for the middle tier (the standard counterpart of Entra's OBO):
// the subject token must be one of our JWT access tokens for a resource the calling client
// owns; the answer is a JWT access token for the requested resource, same subject.
async function tokenExchange(ctx) {
  const { params, client } = ctx.oidc;
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('subject_token_type must be an access token type');
  }
  if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('requested_token_type is unsupported');
  }
  const own = EXCHANGE_FROM[client.clientId];
  let subject;
  try {
    const keys = createLocalJWKSet({ keys: signingKeys.map(publicJwk) });
    ({ payload: subject } = await jwtVerify(params.subject_token, keys, {
      issuer,
      audience: own,
      typ: 'at+jwt',
    }));
  } catch {
    throw new errors.InvalidGrant('subject_token is invalid');
  }
  const target = params.resource || params.audience;
  const scopeSet = RESOURCE_SERVERS[target];
  if (!scopeSet) throw new errors.InvalidTarget();
  const wanted = (params.scope || scopeSet).split(' ');
  const allowed = new Set(scopeSet.split(' '));
  if (!wanted.every((s) => allowed.has(s))) {
    throw new errors.InvalidScope('requested scope is not allowed', params.scope);
  }
  const grant = new provider.Grant({ accountId: subject.sub, clientId: client.clientId });
  grant.addResourceScope(target, wanted.join(' '));
  const grantId = await grant.save();
  const token = new provider.AccessToken({
    accountId: subject.sub,
    client,
    grantId,
    gty: 'token_exchange',
    scope: wanted.join(' '),
  });
  token.resourceServer = new provider.ResourceServer(target, {
    scope: scopeSet,
    audience: target,
    accessTokenTTL: 3600, // an hour, Entra's and Okta's default
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  });
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}

function buildProvider() {
  const p = new Provider(issuer, configuration(signingKeys));
  p.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchange,
    ['audience', 'resource', 'scope', 'requested_token_type', 'subject_token', 'subject_token_type',
      'actor_token', 'actor_token_type'],
    ['audience', 'resource'],
  );
  // Headless sign-in: every interaction is finished at once, as user "alice", consenting to
  // what was asked (the pattern of example/routes/koa.js without the forms).
  p.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    const details = await p.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session } = details;
    if (prompt.name === 'login') {
      return p.interactionFinished(ctx.req, ctx.res, {
        login: { accountId: params.login_hint || 'alice' },
      }, { mergeWithLastSubmission: false });
    }
    let grant = details.grantId ? await p.Grant.find(details.grantId) : undefined;
    if (!grant) {
      grant = new p.Grant({ accountId: session.accountId, clientId: params.client_id });
    }
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    return p.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  });
  return p;
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/admin/rotate') {
    signingKeys = [await newSigningKey(), ...signingKeys];
    provider = buildProvider();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kid: signingKeys[0].kid }));
    return;
  }
  if (req.method === 'POST' && req.url === '/admin/retire') {
    signingKeys = signingKeys.slice(0, 1);
    provider = buildProvider();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kid: signingKeys[0].kid }));
    return;
  }
  provider.callback()(req, res);
});

server.listen(input.port || 0, HOST, () => {
  issuer = `http://${HOST}:${server.address().port}`;
  provider = buildProvider();
  process.stdout.write(`listening ${issuer}\n`);
});

// The test that started us owns our lifetime: exit when its pipe closes.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
