// B2B OAuth through the official Node SDK: the browser's part (start, sign in at the
// provider, keystile's callback) is done by the Python test, which hands the `oauth` token of
// the app's redirect URL over in OAUTH_TOKEN; this script redeems it with oauth.authenticate,
// then reads the session and the Member's Google tokens.
//
//   KEYSTILE_URL=… STYTCH_PROJECT_ID=… STYTCH_SECRET=… OAUTH_TOKEN=… node b2b_oauth.mjs

import stytch from "stytch";

import { check, config, equal, expectStytchError, run } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const client = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const token = process.env.OAUTH_TOKEN;

await run("b2b_oauth", async (step, summary) => {
  check(token, "OAUTH_TOKEN is not set");

  const done = await step("oauth.authenticate", () =>
    client.oauth.authenticate({ oauth_token: token, session_duration_minutes: 30 }),
  );
  equal(done.member_authenticated, true, "member_authenticated");
  equal(done.provider_type, "Google", "provider_type");
  check(done.provider_values.access_token, "no provider_values.access_token");
  equal(done.member.oauth_registrations.length, 1, "oauth_registrations");
  const factor = done.member_session.authentication_factors[0];
  equal(factor.delivery_method, "oauth_google", "factor delivery_method");
  Object.assign(summary, {
    member_id: done.member_id,
    organization_id: done.organization_id,
    provider_subject: done.provider_subject,
  });

  await step("oauth.authenticate (again)", () =>
    expectStytchError(client.oauth.authenticate({ oauth_token: token }), "oauth_token_not_found", "a spent token"),
  );

  await step("sessions.authenticate", async () => {
    const auth = await client.sessions.authenticate({ session_token: done.session_token });
    equal(auth.member.member_id, done.member_id, "session member_id");
  });

  await step("organizations.members.oauthProviders.google", async () => {
    const held = await client.organizations.members.oauthProviders.google({
      organization_id: done.organization_id,
      member_id: done.member_id,
      include_refresh_token: true,
    });
    equal(held.provider_subject, done.provider_subject, "provider_subject");
    equal(held.access_token, done.provider_values.access_token, "access_token");
  });
});
