// Stytch's sandbox values through the official Node SDK against a keystile test project: every
// documented value of a served endpoint gets its documented answer without sending anything,
// and the successes go on (the sandbox session authenticates and its JWT verifies locally).
// Sources: stytch.com/docs/b2b/guides/testing/sandbox-values, stytch.com/docs/guides/testing/sandbox-values.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=project-test-… STYTCH_SECRET=… node sandbox_values.mjs

import stytch from "stytch";

import { check, config, equal, expectStytchError, inboxMessages, run, serverNow } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const b2b = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const consumer = new stytch.Client({ project_id: projectID, secret, env: baseURL });

const EMAIL = "sandbox@stytch.com";
const ORG = "organization-test-007d9d4a-deac-4a87-ba0a-e6e8afba4d4b";
const LINK_OK = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94=";
const LINK_401 = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU=";
const LINK_404 = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM=";
const SESSION_OK = "WJtR5BCy38Szd5AfoDpf0iqFKEt4EE5JhjlWUY7l3FtY";
const SESSION_404 = "59cnLELtq5cFVS6uYK9f-pAWzBkhqZl8AvLhbhOvKNWw";

await run("sandbox_values", async (step, summary) => {
  const before = (await inboxMessages(baseURL, EMAIL)).length;

  // B2B, organization flow.
  const signup = await step("b2b magicLinks.email.loginOrSignup", () =>
    b2b.magicLinks.email.loginOrSignup({ organization_id: ORG, email_address: EMAIL }),
  );
  equal(signup.member.email_address, EMAIL, "the sandbox member");
  await step("b2b magicLinks.email.invite", () =>
    b2b.magicLinks.email.invite({ organization_id: ORG, email_address: EMAIL }),
  );
  const member = await step("b2b magicLinks.authenticate", () =>
    b2b.magicLinks.authenticate({ magic_links_token: LINK_OK }),
  );
  equal(member.member_id, signup.member_id, "the sandbox link logs the sandbox member in");
  const memberSession = await step("b2b sessions.authenticate", () =>
    b2b.sessions.authenticate({ session_token: member.session_token }),
  );
  equal(memberSession.member.member_id, signup.member_id, "the member session authenticates");
  for (const [token, errorType] of [[LINK_401, "unable_to_auth_magic_link"], [LINK_404, "magic_link_not_found"]]) {
    await step(`b2b magicLinks.authenticate ${errorType}`, () =>
      expectStytchError(b2b.magicLinks.authenticate({ magic_links_token: token }), errorType, token),
    );
  }

  // B2B, discovery flow.
  await step("b2b magicLinks.email.discovery.send", () =>
    b2b.magicLinks.email.discovery.send({ email_address: EMAIL }),
  );
  const discovered = await step("b2b magicLinks.discovery.authenticate", () =>
    b2b.magicLinks.discovery.authenticate({ discovery_magic_links_token: LINK_OK }),
  );
  equal(discovered.email_address, EMAIL, "discovered email");
  equal(discovered.discovered_organizations[0].organization.organization_id, signup.organization.organization_id,
    "the sandbox organization is discovered");
  for (const [token, errorType] of [[LINK_401, "unable_to_auth_magic_link"], [LINK_404, "magic_link_not_found"]]) {
    await step(`b2b magicLinks.discovery.authenticate ${errorType}`, () =>
      expectStytchError(b2b.magicLinks.discovery.authenticate({ discovery_magic_links_token: token }), errorType, token),
    );
  }

  // Consumer.
  const created = await step("magicLinks.email.loginOrCreate", () =>
    consumer.magicLinks.email.loginOrCreate({ email: EMAIL }),
  );
  await step("magicLinks.email.send", () => consumer.magicLinks.email.send({ email: EMAIL }));
  await step("magicLinks.email.invite", () => consumer.magicLinks.email.invite({ email: EMAIL }));
  const user = await step("magicLinks.authenticate", () =>
    consumer.magicLinks.authenticate({ token: LINK_OK, session_duration_minutes: 60 }),
  );
  equal(user.user_id, created.user_id, "the sandbox link logs the sandbox user in");
  equal(user.session_token, SESSION_OK, "into the sandbox session");
  for (const [token, errorType] of [[LINK_401, "unable_to_auth_magic_link"], [LINK_404, "magic_link_not_found"]]) {
    await step(`magicLinks.authenticate ${errorType}`, () =>
      expectStytchError(consumer.magicLinks.authenticate({ token }), errorType, token),
    );
  }
  const session = await step("sessions.authenticate", () => consumer.sessions.authenticate({ session_token: SESSION_OK }));
  equal(session.user.user_id, created.user_id, "the sandbox session is the sandbox user's");
  await step("sessions.authenticate session_not_found", () =>
    expectStytchError(consumer.sessions.authenticate({ session_token: SESSION_404 }), "session_not_found", SESSION_404),
  );
  await step("sessions.authenticateJwtLocal", async () => {
    const local = await consumer.sessions.authenticateJwtLocal({
      session_jwt: session.session_jwt,
      current_date: serverNow(),
    });
    equal(local.user_id, created.user_id, "the sandbox session's JWT verifies locally");
  });

  const after = (await inboxMessages(baseURL, EMAIL)).length;
  check(after === before, `${after - before} email(s) were sent to ${EMAIL}`);
  summary.user_id = created.user_id;
  summary.member_id = signup.member_id;
});
