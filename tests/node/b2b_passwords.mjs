// B2B passwords through the official Node SDK, end to end against keystile: an organization
// is created through discovery → a Member is added → passwords.email.resetStart → the reset
// link from the dev inbox → passwords.email.reset sets a password and logs in →
// passwords.authenticate with it → a wrong password is unauthorized_credentials →
// passwords.strengthCheck → passwords.email.requireReset → the password is refused until
// reset → passwords.existingPassword.reset is refused too → organizations.members.deletePassword.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=… STYTCH_SECRET=… node b2b_passwords.mjs

import stytch from "stytch";

import { check, config, equal, expectStytchError, latestToken, run, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const client = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const founder = uniqueEmail("node-pw-founder");
const email = uniqueEmail("node-pw");
const password = `Node-${Math.random().toString(36).slice(2, 10)}-Pelican!`;

await run("b2b_passwords", async (step, summary) => {
  await step("magicLinks.email.discovery.send", () =>
    client.magicLinks.email.discovery.send({ email_address: founder }),
  );
  const founderLink = await step("dev inbox (discovery)", () => latestToken(baseURL, founder));
  const discovered = await step("magicLinks.discovery.authenticate", () =>
    client.magicLinks.discovery.authenticate({ discovery_magic_links_token: founderLink.token }),
  );
  const created = await step("discovery.organizations.create", () =>
    client.discovery.organizations.create({
      intermediate_session_token: discovered.intermediate_session_token,
      organization_name: "Node Passwords Org",
    }),
  );
  const organizationID = created.organization.organization_id;
  await step("organizations.members.create", () =>
    client.organizations.members.create({ organization_id: organizationID, email_address: email }),
  );

  const started = await step("passwords.email.resetStart", () =>
    client.passwords.email.resetStart({ organization_id: organizationID, email_address: email }),
  );
  equal(started.member.email_address, email, "resetStart's member");
  const resetLink = await step("dev inbox (reset)", () => latestToken(baseURL, email));
  summary.token_type = new URL(resetLink.link).searchParams.get("stytch_token_type");
  const reset = await step("passwords.email.reset", () =>
    client.passwords.email.reset({ password_reset_token: resetLink.token, password }),
  );
  check(reset.session_token, "passwords.email.reset returned no session_token");
  summary.member_password_id = reset.member.member_password_id;

  const login = await step("passwords.authenticate", () =>
    client.passwords.authenticate({
      organization_id: organizationID,
      email_address: email,
      password,
      session_duration_minutes: 30,
    }),
  );
  equal(login.member_authenticated, true, "member_authenticated");
  summary.factors = login.member_session.authentication_factors.map((f) => `${f.type}/${f.delivery_method}`);
  await step("passwords.authenticate (wrong password)", () =>
    expectStytchError(
      client.passwords.authenticate({ organization_id: organizationID, email_address: email, password: `${password}x` }),
      "unauthorized_credentials",
      "a wrong password",
    ),
  );

  const strength = await step("passwords.strengthCheck", () => client.passwords.strengthCheck({ password: "password" }));
  summary.weak_valid = strength.valid_password;

  await step("passwords.email.requireReset", () =>
    client.passwords.email.requireReset({ email_address: email, organization_id: organizationID }),
  );
  await step("passwords.authenticate (reset required)", () =>
    expectStytchError(
      client.passwords.authenticate({ organization_id: organizationID, email_address: email, password }),
      "member_reset_password",
      "a password that must be reset",
    ),
  );
  const deleted = await step("organizations.members.deletePassword", () =>
    client.organizations.members.deletePassword({
      organization_id: organizationID,
      member_password_id: reset.member.member_password_id,
    }),
  );
  summary.member_password_id_after = deleted.member.member_password_id;
});
