// The B2B discovery flow through the official Node SDK, end to end against keystile:
// discovery magic link → dev inbox → authenticate → create an organization → session
// by token and by JWT (local verification against keystile's JWKS) → list organizations
// → log in again and exchange the intermediate session → revoke → authenticate fails.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=… STYTCH_SECRET=… node b2b_discovery.mjs

import stytch from "stytch";

import { check, config, equal, expectStytchError, latestToken, run, serverNow, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const client = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const email = process.env.KEYSTILE_TEST_EMAIL || uniqueEmail("node-b2b");

await run("b2b_discovery", async (step, summary) => {
  summary.email = email;

  await step("magicLinks.email.discovery.send", async () => {
    const sent = await client.magicLinks.email.discovery.send({ email_address: email });
    equal(sent.status_code, 200, "discovery send status_code");
    check(sent.request_id, "discovery send returned no request_id");
  });

  const first = await step("dev inbox (first link)", () => latestToken(baseURL, email));
  summary.link = first.link;

  const discovered = await step("magicLinks.discovery.authenticate", () =>
    client.magicLinks.discovery.authenticate({ discovery_magic_links_token: first.token }),
  );
  equal(discovered.email_address, email, "discovery authenticate email_address");
  check(discovered.intermediate_session_token, "no intermediate_session_token");
  equal(discovered.discovered_organizations.length, 0, "organizations discovered for a new email");

  const slug = `node-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const created = await step("discovery.organizations.create", () =>
    client.discovery.organizations.create({
      intermediate_session_token: discovered.intermediate_session_token,
      organization_name: "Node SDK Org",
      organization_slug: slug,
      session_duration_minutes: 60,
    }),
  );
  check(created.session_token, "organizations.create returned no session_token");
  check(created.session_jwt, "organizations.create returned no session_jwt");
  equal(created.member_authenticated, true, "member_authenticated");
  equal(created.organization.organization_slug, slug, "created organization_slug");
  equal(created.member.email_address, email, "created member email_address");
  equal(created.member_session.member_id, created.member.member_id, "member_session.member_id");
  const memberID = created.member.member_id;
  const organizationID = created.organization.organization_id;
  const sessionID = created.member_session.member_session_id;
  Object.assign(summary, { member_id: memberID, organization_id: organizationID, member_session_id: sessionID });

  await step("sessions.authenticate (session_token)", async () => {
    const auth = await client.sessions.authenticate({ session_token: created.session_token });
    equal(auth.member_session.member_session_id, sessionID, "authenticated member_session_id");
    equal(auth.member.member_id, memberID, "authenticated member_id");
    equal(auth.organization.organization_id, organizationID, "authenticated organization_id");
    check(auth.session_jwt, "sessions.authenticate returned no session_jwt");
  });

  await step("sessions.authenticateJwtLocal", async () => {
    const local = await client.sessions.authenticateJwtLocal({
      session_jwt: created.session_jwt,
      current_date: serverNow(),
    });
    equal(local.member_session_id, sessionID, "JWT member_session_id");
    equal(local.member_id, memberID, "JWT member_id (sub)");
    equal(local.organization_id, organizationID, "JWT organization_id");
    equal(local.organization_slug, slug, "JWT organization_slug");
    check(Array.isArray(local.authentication_factors) && local.authentication_factors.length > 0,
      "JWT carries no authentication_factors");
  });

  await step("sessions.authenticateJwt", async () => {
    const viaJwt = await client.sessions.authenticateJwt({
      session_jwt: created.session_jwt,
      current_date: serverNow(),
    });
    // A locally verified JWT comes back as {member_session, session_jwt} with no API envelope;
    // falling back to the API would mean keystile's JWT or JWKS failed the SDK's checks.
    check(viaJwt.status_code === undefined, "authenticateJwt fell back to the API: local verification failed");
    equal(viaJwt.member_session.member_session_id, sessionID, "authenticateJwt member_session_id");
    summary.jwt_verified_locally = true;
  });

  await step("discovery.organizations.list (session_token)", async () => {
    const listed = await client.discovery.organizations.list({ session_token: created.session_token });
    equal(listed.email_address, email, "organizations.list email_address");
    const ids = listed.discovered_organizations.map((d) => d.organization.organization_id);
    check(ids.includes(organizationID), `organizations.list does not include ${organizationID}: ${JSON.stringify(ids)}`);
  });

  await step("magicLinks.email.discovery.send (again)", () =>
    client.magicLinks.email.discovery.send({ email_address: email }),
  );
  const second = await step("dev inbox (second link)", () => latestToken(baseURL, email));
  check(second.token !== first.token, "the second email carries the first token again");
  equal(second.count, 2, "emails in the dev inbox");

  const again = await step("magicLinks.discovery.authenticate (again)", () =>
    client.magicLinks.discovery.authenticate({ discovery_magic_links_token: second.token }),
  );
  const mine = again.discovered_organizations.find((d) => d.organization.organization_id === organizationID);
  check(mine, "the new organization is not among the discovered organizations");
  equal(mine.membership.type, "active_member", "membership type");

  const exchanged = await step("discovery.intermediateSessions.exchange", () =>
    client.discovery.intermediateSessions.exchange({
      intermediate_session_token: again.intermediate_session_token,
      organization_id: organizationID,
    }),
  );
  equal(exchanged.member_id, memberID, "exchanged member_id");
  check(exchanged.session_token && exchanged.session_token !== created.session_token,
    "exchange did not start a new session");

  await step("sessions.revoke (member_session_id)", async () => {
    const revoked = await client.sessions.revoke({ member_session_id: sessionID });
    equal(revoked.status_code, 200, "revoke status_code");
  });

  await step("sessions.authenticate (revoked)", () =>
    expectStytchError(
      client.sessions.authenticate({ session_token: created.session_token }),
      "session_not_found",
      "authenticating a revoked session",
    ),
  );

  await step("sessions.authenticate (other session still valid)", async () => {
    const other = await client.sessions.authenticate({ session_token: exchanged.session_token });
    equal(other.member.member_id, memberID, "the exchanged session's member_id");
  });
});
