// An OpenID Provider for the end-to-end tests: node `oidc-provider` (OpenID Certified),
// configured in memory and listening on an ephemeral loopback port.
//
// Started by tests/e2e/conftest.py; prints one JSON line {"issuer": ...} once it listens.
// Clients (secrets are test fixtures, not credentials):
//   confidential-basic  client_secret_basic; client_credentials, authorization_code, refresh_token
//   confidential-post   client_secret_post;  authorization_code, refresh_token; ES256 ID tokens
//   public-pkce         none (public, PKCE);  authorization_code, refresh_token
//   native-app          a native app (RFC 8252): public, PKCE, redirect http://127.0.0.1/callback
//                       on any port (section 7.3)
//   fapi-client         private_key_jwt with the public JWK Set of $FAPI_CLIENT_JWKS (the tests
//                       hold the private key); every grant; DPoP-bound access tokens and
//                       pushed authorization requests (PAR) required of it
// DPoP (RFC 9449) is on for every client, with server-provided nonces required on every
// proof (token endpoint and userinfo alike) and replay detection; PAR (RFC 9126) is on.
// Client-credentials tokens are JWT access tokens for the resource server API_AUDIENCE
// (oidc-provider issues them only through resource indicators, RFC 8707).
// The login and consent pages are oidc-provider's devInteractions: a form posted to
// /interaction/:uid with prompt=login&login=<account id>&password=<anything>, then
// prompt=consent.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';

const REDIRECT_URI = 'http://127.0.0.1/callback';
const API_AUDIENCE = 'https://api.e2e.test';
const API_SCOPES = 'api:read api:write';

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg}-${randomUUID()}`, alg, use: 'sig' };
}

const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
  ],
};

const accounts = new Map([
  ['alice', { sub: 'alice', email: 'alice@example.test', email_verified: true, name: 'Alice' }],
]);

const fapiClients = process.env.FAPI_CLIENT_JWKS
  ? [
      {
        client_id: 'fapi-client',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: JSON.parse(process.env.FAPI_CLIENT_JWKS),
        grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
        dpop_bound_access_tokens: true,
        require_pushed_authorization_requests: true,
      },
    ]
  : [];

const configuration = {
  clients: [
    {
      client_id: 'confidential-basic',
      client_secret: 'confidential-basic-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
    },
    {
      client_id: 'confidential-post',
      client_secret: 'confidential-post-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
    },
    {
      client_id: 'public-pkce',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
    },
    {
      client_id: 'native-app',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
    },
    ...fapiClients,
  ],
  jwks,
  cookies: { keys: [randomUUID()] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256'],
  },
  features: {
    devInteractions: { enabled: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    pushedAuthorizationRequests: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) =>
        client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    resourceIndicators: {
      enabled: true,
      // Only the client-credentials grant gets the API as its default resource; the
      // browser flows keep opaque access tokens for the userinfo endpoint.
      defaultResource: (ctx) =>
        ctx.oidc.params?.grant_type === 'client_credentials' ? API_AUDIENCE : undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator !== API_AUDIENCE) {
          throw new Error(`unknown resource ${resourceIndicator}`);
        }
        return {
          scope: API_SCOPES,
          audience: API_AUDIENCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ ...account }) };
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 3600,
  },
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer, apiAudience: API_AUDIENCE, redirectUri: REDIRECT_URI }));
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
