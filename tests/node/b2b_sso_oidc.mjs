// B2B OIDC SSO through the official Node SDK, end to end against keystile and a real OpenID
// provider: an organization → sso.oidc.createConnection → its redirect_url registered as a
// client at the IdP → sso.oidc.updateConnection (the issuer's discovery fills the endpoints)
// → sso.getConnections → a browser's login driven over HTTP here (keystile's start URL with a
// PKCE challenge, the IdP's login and consent forms, keystile's callback, the app's URL with
// stytch_token_type=sso) → sso.authenticate with the verifier → sessions.authenticate →
// the same token again fails → sso.deleteConnection.
//
//   KEYSTILE_URL=… STYTCH_PROJECT_ID=… STYTCH_SECRET=… STYTCH_PUBLIC_TOKEN=… \
//   OIDC_ISSUER=http://127.0.0.1:PORT node b2b_sso_oidc.mjs
// (OIDC_ISSUER: tests/idp/oidc_provider.mjs, whose /_fixture/ routes register the client and
// the account.)

import { createHash, randomBytes } from "node:crypto";

import stytch from "stytch";

import { check, config, equal, expectStytchError, run, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const publicToken = process.env.STYTCH_PUBLIC_TOKEN;
const issuer = process.env.OIDC_ISSUER;
check(publicToken && issuer, "set STYTCH_PUBLIC_TOKEN and OIDC_ISSUER");
const client = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const email = uniqueEmail("node-sso");
const password = randomBytes(12).toString("base64url");
const appURL = "http://localhost:3000/authenticate";

async function fixture(path, body) {
  const resp = await fetch(`${issuer}/_fixture/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  check(resp.ok, `the IdP refused ${path}: ${await resp.text()}`);
}

// A browser in miniature: cookies per host:port (name → value), redirects followed by hand.
const jar = new Map();
function cookiesFor(url) {
  const values = jar.get(new URL(url).host) || new Map();
  return [...values].map(([k, v]) => `${k}=${v}`).join("; ");
}
function keep(url, resp) {
  const host = new URL(url).host;
  const values = jar.get(host) || new Map();
  for (const line of resp.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    values.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  jar.set(host, values);
}
async function browse(url, init = {}) {
  const resp = await fetch(url, { ...init, redirect: "manual", headers: { ...init.headers, cookie: cookiesFor(url) } });
  keep(url, resp);
  return resp;
}

// Follow `url` until the browser is sent to the app; sign in and consent on the IdP's forms.
async function signIn(startURL) {
  let url = startURL;
  for (let hop = 0; hop < 20; hop += 1) {
    if (url.startsWith(appURL)) return url;
    const resp = await browse(url);
    if (resp.status >= 300 && resp.status < 400) {
      url = new URL(resp.headers.get("location"), url).href;
      continue;
    }
    const page = await resp.text();
    check(resp.status === 200, `${url} answered ${resp.status}: ${page.slice(0, 300)}`);
    const action = page.match(/<form method="post" action="([^"]+)"/);
    check(action, `no form on ${url}: ${page.slice(0, 300)}`);
    const form = page.includes('name="password"') ? new URLSearchParams({ login: email, password }) : "";
    const posted = await browse(new URL(action[1], url).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    check(posted.status >= 300 && posted.status < 400, `posting the form answered ${posted.status}`);
    url = new URL(posted.headers.get("location"), url).href;
  }
  throw new Error(`more than 20 redirects from ${startURL}`);
}

await run("b2b_sso_oidc", async (step, summary) => {
  const org = await step("organizations.create", async () => {
    const resp = await client.organizations.create({ organization_name: "Node SSO" });
    return resp.organization;
  });

  const created = await step("sso.oidc.createConnection", async () => {
    const resp = await client.sso.oidc.createConnection({
      organization_id: org.organization_id,
      display_name: "Node IdP",
      identity_provider: "okta",
    });
    equal(resp.connection.status, "pending", "a new connection's status");
    return resp.connection;
  });

  const clientID = `node-${randomBytes(6).toString("hex")}`;
  const clientSecret = randomBytes(24).toString("base64url");
  await step("IdP: client and account registered", async () => {
    await fixture("clients", { client_id: clientID, client_secret: clientSecret, redirect_uris: [created.redirect_url] });
    await fixture("accounts", { login: email, password, claims: { sub: `sub-${clientID}`, email, email_verified: true, name: "Node Person" } });
  });

  const connection = await step("sso.oidc.updateConnection", async () => {
    const resp = await client.sso.oidc.updateConnection({
      organization_id: org.organization_id,
      connection_id: created.connection_id,
      issuer,
      client_id: clientID,
      client_secret: clientSecret,
    });
    equal(resp.connection.status, "active", "the connection's status once configured");
    equal(resp.connection.token_url, `${issuer}/token`, "the token URL found by discovery");
    return resp.connection;
  });
  summary.connection_id = connection.connection_id;

  await step("sso.getConnections", async () => {
    const resp = await client.sso.getConnections({ organization_id: org.organization_id });
    equal(resp.oidc_connections.length, 1, "OIDC connections listed");
    equal(resp.oidc_connections[0].connection_id, connection.connection_id, "the listed connection");
  });

  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const token = await step("browser: start, IdP sign-in and consent, callback", async () => {
    const start = new URL("v1/public/sso/start", baseURL);
    start.search = new URLSearchParams({
      public_token: publicToken,
      connection_id: connection.connection_id,
      pkce_code_challenge: challenge,
    }).toString();
    const landed = new URL(await signIn(start.href));
    equal(landed.searchParams.get("stytch_token_type"), "sso", "stytch_token_type");
    return landed.searchParams.get("token");
  });

  const authed = await step("sso.authenticate", async () => {
    const resp = await client.sso.authenticate({ sso_token: token, pkce_code_verifier: verifier });
    equal(resp.member.email_address, email, "the member's email");
    equal(resp.member_authenticated, true, "member_authenticated");
    return resp;
  });
  summary.factors = authed.member_session.authentication_factors.map((f) => `${f.type}/${f.delivery_method}`);
  summary.registrations = authed.member.sso_registrations.map((r) => r.connection_id);

  await step("sessions.authenticate", async () => {
    const resp = await client.sessions.authenticate({ session_token: authed.session_token });
    equal(resp.member.member_id, authed.member_id, "the session's member");
  });

  await step("sso.authenticate (same token)", async () => {
    await expectStytchError(
      client.sso.authenticate({ sso_token: token, pkce_code_verifier: verifier }),
      "unable_to_auth_sso_token",
      "a used SSO token",
    );
  });

  await step("sso.deleteConnection", async () => {
    const resp = await client.sso.deleteConnection({
      organization_id: org.organization_id,
      connection_id: connection.connection_id,
    });
    equal(resp.connection_id, connection.connection_id, "the deleted connection");
  });
});
