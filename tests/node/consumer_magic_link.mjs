// The consumer email magic link flow through the official Node SDK against keystile:
// login_or_create → dev inbox → authenticate with a 60-minute session → the session JWT
// verified locally against keystile's JWKS → the session token authenticated by the API.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=… STYTCH_SECRET=… node consumer_magic_link.mjs

import stytch from "stytch";

import { check, config, equal, latestToken, run, serverNow, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const client = new stytch.Client({ project_id: projectID, secret, env: baseURL });
const email = process.env.KEYSTILE_TEST_EMAIL || uniqueEmail("node-consumer");

await run("consumer_magic_link", async (step, summary) => {
  summary.email = email;

  const sent = await step("magicLinks.email.loginOrCreate", () =>
    client.magicLinks.email.loginOrCreate({ email }),
  );
  equal(sent.status_code, 200, "loginOrCreate status_code");
  equal(sent.user_created, true, "user_created for a new email");
  check(sent.user_id, "loginOrCreate returned no user_id");
  summary.user_id = sent.user_id;

  const link = await step("dev inbox", () => latestToken(baseURL, email));
  summary.link = link.link;

  const authed = await step("magicLinks.authenticate", () =>
    client.magicLinks.authenticate({ token: link.token, session_duration_minutes: 60 }),
  );
  equal(authed.user_id, sent.user_id, "authenticated user_id");
  check(authed.session_token, "magicLinks.authenticate returned no session_token");
  check(authed.session_jwt, "magicLinks.authenticate returned no session_jwt");
  check(authed.session, "magicLinks.authenticate returned no session");
  const sessionID = authed.session.session_id;
  const lifetimeMinutes = (Date.parse(authed.session.expires_at) - Date.parse(authed.session.started_at)) / 60000;
  check(Math.abs(lifetimeMinutes - 60) < 1, `the session lasts ${lifetimeMinutes} minutes, not 60`);
  summary.session_id = sessionID;

  await step("sessions.authenticateJwtLocal", async () => {
    const local = await client.sessions.authenticateJwtLocal({
      session_jwt: authed.session_jwt,
      current_date: serverNow(),
    });
    equal(local.session_id, sessionID, "JWT session_id");
    equal(local.user_id, sent.user_id, "JWT user_id (sub)");
    check(Array.isArray(local.authentication_factors) && local.authentication_factors.length > 0,
      "JWT carries no authentication_factors");
  });

  await step("sessions.authenticateJwt", async () => {
    const viaJwt = await client.sessions.authenticateJwt({
      session_jwt: authed.session_jwt,
      current_date: serverNow(),
    });
    // Local verification returns {session, session_jwt} without the API envelope.
    check(viaJwt.status_code === undefined, "authenticateJwt fell back to the API: local verification failed");
    equal(viaJwt.session.session_id, sessionID, "authenticateJwt session_id");
    summary.jwt_verified_locally = true;
  });

  await step("sessions.authenticate (session_token)", async () => {
    const auth = await client.sessions.authenticate({ session_token: authed.session_token });
    equal(auth.session.session_id, sessionID, "authenticated session_id");
    equal(auth.user.user_id, sent.user_id, "authenticated user_id");
  });
});
