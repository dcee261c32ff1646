// debug.whoami, project.metrics, rbac.policy and B2B and consumer impersonation.authenticate
// through the official Node SDK against keystile. The impersonation tokens come from
// `keystile impersonate --json` (Stytch mints them in its dashboard), one for a Member and
// one for a User:
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=… STYTCH_SECRET=… \
//   MEMBER_IMPERSONATION_TOKEN=… USER_IMPERSONATION_TOKEN=… node area_endpoints.mjs

import stytch from "stytch";

import { check, config, equal, expectStytchError, run, serverNow } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const b2b = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const consumer = new stytch.Client({ project_id: projectID, secret, env: baseURL });
const memberToken = process.env.MEMBER_IMPERSONATION_TOKEN;
const userToken = process.env.USER_IMPERSONATION_TOKEN;

function theImpersonatedFactor(factors, what) {
  check(Array.isArray(factors) && factors.length === 1, `${what}: expected exactly one factor, got ${JSON.stringify(factors)}`);
  equal(factors[0].type, "impersonated", `${what}: factor type`);
  equal(factors[0].delivery_method, "impersonation", `${what}: factor delivery_method`);
  check(factors[0].impersonated_factor && factors[0].impersonated_factor.impersonator_email_address,
    `${what}: the factor names no impersonator`);
  return factors[0].impersonated_factor;
}

function minutesBetween(start, end) {
  return (Date.parse(end) - Date.parse(start)) / 60000;
}

await run("area_endpoints", async (step, summary) => {
  check(memberToken && userToken, "set MEMBER_IMPERSONATION_TOKEN and USER_IMPERSONATION_TOKEN (keystile impersonate)");

  const me = await step("debug.whoami", () => consumer.debug.whoami());
  equal(me.project_id, projectID, "whoami project_id");
  summary.project_name = me.name;

  const metrics = await step("project.metrics", () => consumer.project.metrics());
  equal(metrics.project_id, projectID, "metrics project_id");
  summary.metrics = Object.fromEntries(metrics.metrics.map((m) => [m.metric_type, m.count]));

  const policy = await step("rbac.policy", () => consumer.rbac.policy());
  summary.consumer_roles = policy.policy.roles.map((r) => r.role_id);

  const member = await step("b2b.impersonation.authenticate", () =>
    b2b.impersonation.authenticate({ impersonation_token: memberToken }),
  );
  equal(member.member_authenticated, true, "member_authenticated");
  equal(member.intermediate_session_token, "", "intermediate_session_token");
  summary.member_id = member.member_id;
  summary.member_impersonator = theImpersonatedFactor(member.member_session.authentication_factors, "member session");
  summary.member_session_minutes = minutesBetween(member.member_session.started_at, member.member_session.expires_at);

  await step("b2b.sessions.authenticateJwtLocal", async () => {
    const local = await b2b.sessions.authenticateJwtLocal({ session_jwt: member.session_jwt, current_date: serverNow() });
    theImpersonatedFactor(local.authentication_factors, "member JWT");
  });

  await step("b2b.sessions.authenticate (extend)", () =>
    expectStytchError(
      b2b.sessions.authenticate({ session_token: member.session_token, session_duration_minutes: 120 }),
      "session_not_mutable_impersonated",
      "extending an impersonated member session",
    ),
  );

  await step("b2b.impersonation.authenticate (again)", () =>
    expectStytchError(
      b2b.impersonation.authenticate({ impersonation_token: memberToken }),
      "unable_to_auth_impersonation_token",
      "a used member impersonation token",
    ),
  );

  const user = await step("impersonation.authenticate", () =>
    consumer.impersonation.authenticate({ impersonation_token: userToken }),
  );
  summary.user_id = user.user_id;
  summary.user_impersonator = theImpersonatedFactor(user.session.authentication_factors, "user session");
  summary.user_session_minutes = minutesBetween(user.session.started_at, user.session.expires_at);

  await step("impersonation.authenticate (again)", () =>
    expectStytchError(
      consumer.impersonation.authenticate({ impersonation_token: userToken }),
      "unable_to_auth_impersonation_token",
      "a used user impersonation token",
    ),
  );
});
