// An OpenID provider for the tests: panva's oidc-provider (a certified OpenID Connect
// implementation, installed in tests/node) on a loopback port, with what a test needs to set
// up beside it and nothing else changed:
//
//   POST /_fixture/clients   {client_id, client_secret, redirect_uris, ...client metadata}
//   POST /_fixture/accounts  {login, password, claims: {sub, email, ...}}
//   POST /_fixture/tamper    {client_id, claims: {...}, alg: "none" | null}
//        the ID tokens that client is given from then on carry these claims, re-signed with
//        the provider's own key (or unsigned with alg "none"): how a test shows that a
//        relying party refuses a token the provider itself would never issue.
//
// The login and consent pages are this file's own, plain HTML forms (login + password, then
// one "Continue" button), which tests/idp/oidc.py posts over HTTP and a browser can click.
//
// Started as `node tests/idp/oidc_provider.mjs [port]`; prints one JSON line
// {"issuer": "http://127.0.0.1:<port>"} once it listens, then logs nothing.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, sign as signData } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.OIDC_PROVIDER_NODE_MODULES ?? resolve(here, '..', 'node', 'node_modules');
const load = (path) => import(pathToFileURL(join(modules, 'oidc-provider', path)).href);
const { default: Provider } = await load('lib/index.js');
const { default: MemoryAdapter } = await load('lib/adapters/memory_adapter.js');
const { default: LRU } = await load('lib/helpers/lru.js');

// Claims released with the "openid" scope beyond `sub`: the ones providers add in the ID
// token (Google's hd, Entra's tid/oid, ...), so a test can emulate any of them.
const EXTRA_CLAIMS = (process.env.OIDC_PROVIDER_EXTRA_CLAIMS ?? '').split(',').filter(Boolean);
const OPENID_CLAIMS = [
  'sub', 'hd', 'tid', 'oid', 'upn', 'groups', 'roles', 'preferred_username', 'login', 'org', ...EXTRA_CLAIMS,
];

const clients = new Map();
const accounts = new Map(); // by login and by sub
const tampering = new Map(); // client_id -> {claims, alg}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'fixture-rs256', alg: 'RS256', use: 'sig' };

const store = new LRU({ maxSize: 200000 });
const adapter = (model) => {
  if (model === 'Client') {
    return { find: async (id) => clients.get(id), upsert: async () => {}, destroy: async () => {} };
  }
  return new MemoryAdapter(model, store);
};

const port = Number(process.argv[2] ?? 0);
const server = createServer();
await new Promise((done) => server.listen(port, '127.0.0.1', done));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  adapter,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: OPENID_CLAIMS,
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'picture', 'locale', 'updated_at'],
  },
  // Like Google's and Entra's: the ID token of a code flow carries the scopes' claims too.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'HS256'] },
  findAccount: async (ctx, sub) => {
    const account = accounts.get(`sub:${sub}`);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ ...account.claims, sub }) };
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', `<p id="error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
  },
});
provider.proxy = false;

// Rewrite the ID token of a tampered client's token response.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
  const [, payloadPart] = ctx.body.id_token.split('.');
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url'));
  const change = tampering.get(payload.aud) ?? tampering.get(ctx.oidc?.client?.clientId);
  if (!change) return;
  const claims = { ...payload, ...(change.claims ?? {}) };
  for (const [name, value] of Object.entries(claims)) if (value === null) delete claims[name];
  ctx.body = { ...ctx.body, id_token: encodeJwt(claims, change.alg ?? 'RS256') };
});

function encodeJwt(claims, alg) {
  const header = alg === 'none' ? { alg: 'none' } : { alg: 'RS256', kid: signingJwk.kid, typ: 'JWT' };
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  if (alg === 'none') return `${input}.`;
  return `${input}.${signData('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

const b64 = (text) => Buffer.from(text).toString('base64url');
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>`
  + `<body><h1>${title}</h1>${body}</body></html>`;

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

async function fixtureRoute(req, res, path) {
  if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only');
  const body = JSON.parse((await readBody(req)) || '{}');
  if (path === '/_fixture/clients') {
    const metadata = {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...body,
    };
    clients.set(body.client_id, metadata);
    // Checked now, so a bad registration fails the test that made it, not a later login.
    try {
      await provider.Client.find(body.client_id);
    } catch (error) {
      clients.delete(body.client_id);
      return send(res, 400, 'application/json', JSON.stringify({ error: String(error.message ?? error) }));
    }
  } else if (path === '/_fixture/accounts') {
    const account = { login: body.login, password: body.password, claims: body.claims ?? {} };
    accounts.set(`login:${body.login}`, account);
    accounts.set(`sub:${account.claims.sub}`, account);
  } else if (path === '/_fixture/tamper') {
    if (body.claims || body.alg) tampering.set(body.client_id, { claims: body.claims, alg: body.alg });
    else tampering.delete(body.client_id);
  } else {
    return send(res, 404, 'text/plain', 'not found');
  }
  return send(res, 200, 'application/json', '{}');
}

function loginPage(uid, params, error) {
  const hint = params.login_hint ? ` value="${escape(params.login_hint)}"` : '';
  return page('Sign in', `${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <label>Login <input id="login" name="login" type="text" autocomplete="username"${hint}></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
  <button id="sign-in" type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, clientId, scopes) {
  return page('Authorize', `<p>${escape(clientId)} asks for: ${escape(scopes.join(' '))}</p>
<form method="post" action="/interaction/${uid}/confirm"><button id="continue" type="submit">Continue</button></form>
<form method="post" action="/interaction/${uid}/abort"><button id="cancel" type="submit">Cancel</button></form>`);
}

async function interactionRoute(req, res, path) {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  const { prompt, params, session } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return send(res, 200, 'text/html', loginPage(uid, params));
    const scopes = [...(prompt.details.missingOIDCScope ?? [])];
    return send(res, 200, 'text/html', consentPage(uid, params.client_id, scopes));
  }
  if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only');
  const form = new URLSearchParams(await readBody(req));
  if (action === 'login') {
    const account = accounts.get(`login:${form.get('login')}`);
    if (!account || account.password !== form.get('password')) {
      return send(res, 200, 'text/html', loginPage(uid, params, 'Wrong login or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.claims.sub } }, {
      mergeWithLastSubmission: false,
    });
  }
  if (action === 'confirm') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'The user cancelled the sign-in.',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, 'text/plain', 'not found');
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  try {
    if (path.startsWith('/_fixture/')) return await fixtureRoute(req, res, path);
    if (path.startsWith('/interaction/')) return await interactionRoute(req, res, path);
    return callback(req, res);
  } catch (error) {
    if (!res.headersSent) send(res, 400, 'text/plain', String(error.message ?? error));
    return undefined;
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.on('end', () => process.exit(0)); // the test process went away: so do we
process.stdin.resume();
