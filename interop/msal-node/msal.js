// Microsoft's @azure/msal-node against the Entra emulator, run by interop/tests/msal_node.rs.
//
// Input: MSAL_CONFIG, a JSON object (all values from the test's emulator):
//   { "authority": "https://127.0.0.1:{port}/{tenant}", "known_authority": "127.0.0.1:{port}",
//     "s2s": { "client_id", "secret", "scope" },
//     "cert": { "client_id", "cert_pem", "key_pem", "scope" },
//     "web": { "client_id", "secret", "redirect_uri", "scope" },
//     "middle": { "client_id", "secret", "scope" } }
// The emulator's CA is trusted through NODE_EXTRA_CA_CERTS (set by the test).
// Output: one line of JSON on stdout: { "<flow>": { "access_token", "id_token"? } | { "error" } }.
//
// MSAL APIs used (https://learn.microsoft.com/entra/msal/javascript/node/):
// - knownAuthorities: authority validation/instance discovery skipped for a non-Microsoft host
//   (https://learn.microsoft.com/entra/identity-platform/msal-js-initializing-client-applications)
// - acquireTokenByClientCredential (secret, and clientCertificate with thumbprintSha256: PS256
//   with x5t#S256) (https://learn.microsoft.com/entra/msal/javascript/node/certificate-credentials)
// - getAuthCodeUrl + acquireTokenByCode with PKCE (CryptoProvider.generatePkceCodes)
// - acquireTokenOnBehalfOf (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow)

import { X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';

const config = JSON.parse(process.env.MSAL_CONFIG);

function app(auth) {
  return new ConfidentialClientApplication({
    auth: {
      authority: config.authority,
      knownAuthorities: [config.known_authority],
      ...auth,
    },
  });
}

async function attempt(run) {
  try {
    return await run();
  } catch (e) {
    return { error: `${e.errorCode || e.name}: ${e.errorMessage || e.message}` };
  }
}

const result = {};

result.client_credentials_secret = await attempt(async () => {
  const cca = app({ clientId: config.s2s.client_id, clientSecret: config.s2s.secret });
  const r = await cca.acquireTokenByClientCredential({ scopes: [config.s2s.scope] });
  return { access_token: r.accessToken };
});

result.client_credentials_certificate = await attempt(async () => {
  const thumbprintSha256 = new X509Certificate(config.cert.cert_pem).fingerprint256.replaceAll(':', '');
  const cca = app({
    clientId: config.cert.client_id,
    clientCertificate: { thumbprintSha256, privateKey: config.cert.key_pem },
  });
  const r = await cca.acquireTokenByClientCredential({ scopes: [config.cert.scope] });
  return { access_token: r.accessToken };
});

let userToken;
result.auth_code = await attempt(async () => {
  const cca = app({ clientId: config.web.client_id, clientSecret: config.web.secret });
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await cca.getAuthCodeUrl({
    scopes: [config.web.scope],
    redirectUri: config.web.redirect_uri,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
  });
  // The emulator signs its auto-login user in and redirects straight to the redirect URI.
  let location = url;
  for (let i = 0; i < 5 && !location.startsWith(config.web.redirect_uri); i += 1) {
    const response = await fetch(location, { redirect: 'manual' });
    const next = response.headers.get('location');
    if (!next) throw new Error(`authorize answered ${response.status} without a redirect`);
    location = new URL(next, location).toString();
  }
  const callback = new URL(location);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in the callback: ${callback.search}`);
  const r = await cca.acquireTokenByCode({
    code,
    scopes: [config.web.scope],
    redirectUri: config.web.redirect_uri,
    codeVerifier: verifier,
  });
  userToken = r.accessToken;
  return { access_token: r.accessToken, id_token: r.idToken };
});

result.on_behalf_of = await attempt(async () => {
  if (!userToken) throw new Error('no user token (auth_code failed)');
  const cca = app({ clientId: config.middle.client_id, clientSecret: config.middle.secret });
  const r = await cca.acquireTokenOnBehalfOf({
    oboAssertion: userToken,
    scopes: [config.middle.scope],
  });
  return { access_token: r.accessToken };
});

process.stdout.write(`${JSON.stringify(result)}\n`);
