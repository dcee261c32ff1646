// SCIM provisioning through the official Node SDK, end to end against keystile: an
// organization → scim.connection.create → the directory (plain fetch with the bearer token,
// as Okta sends it) creates a User → organizations.members.get shows the provisioned Member
// → the directory pushes a group → scim.connection.update maps it to a role →
// scim.connection.getGroups → rotateStart, both tokens work → rotateComplete, the old token
// is refused → the directory deactivates the User → the Member is deleted → scim.connection.delete.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=… STYTCH_SECRET=… node b2b_scim.mjs

import stytch from "stytch";

import { check, config, equal, run, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const client = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const email = uniqueEmail("node-scim");
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async function scim(connection, token, method, path, body) {
  const resp = await fetch(`${connection.base_url.split("?")[0]}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

await run("b2b_scim", async (step, summary) => {
  const org = await step("organizations.create", () =>
    client.organizations.create({
      organization_name: "Node SCIM Org",
      organization_slug: `node-scim-${Date.now().toString(36)}`,
    }),
  );
  const organizationID = org.organization.organization_id;
  const created = await step("scim.connection.create", () =>
    client.scim.connection.create({ organization_id: organizationID, display_name: "Okta", identity_provider: "okta" }),
  );
  const connection = created.connection;
  const ids = { organization_id: organizationID, connection_id: connection.connection_id };
  summary.connection_id = connection.connection_id;

  const user = await step("SCIM POST /Users", async () => {
    const resp = await scim(connection, connection.bearer_token, "POST", "/Users", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: email,
      name: { givenName: "Node", familyName: "Person" },
      emails: [{ primary: true, value: email, type: "work" }],
      active: true,
    });
    equal(resp.status, 201, "POST /Users status");
    return resp.body;
  });
  const member = await step("organizations.members.get", () =>
    client.organizations.members.get({ organization_id: organizationID, member_id: user.id }),
  );
  equal(member.member.status, "active", "the provisioned member's status");
  summary.registration_connection = member.member.scim_registration.connection_id;

  const group = await step("SCIM POST /Groups", async () => {
    const resp = await scim(connection, connection.bearer_token, "POST", "/Groups", {
      displayName: "Admins",
      members: [{ value: user.id }],
    });
    equal(resp.status, 201, "POST /Groups status");
    return resp.body;
  });
  const updated = await step("scim.connection.update", () =>
    client.scim.connection.update({
      ...ids,
      scim_group_implicit_role_assignments: [{ role_id: "stytch_admin", group_id: group.id }],
    }),
  );
  equal(updated.connection.scim_group_implicit_role_assignments[0].group_name, "Admins", "mapped group name");
  const withRole = await step("organizations.members.get (role)", () =>
    client.organizations.members.get({ organization_id: organizationID, member_id: user.id }),
  );
  summary.admin_sources = withRole.member.roles
    .filter((r) => r.role_id === "stytch_admin")
    .flatMap((r) => r.sources.map((s) => s.type));
  const groups = await step("scim.connection.getGroups", () => client.scim.connection.getGroups(ids));
  summary.groups = groups.scim_groups.map((g) => g.group_name);

  const started = await step("scim.connection.rotateStart", () => client.scim.connection.rotateStart(ids));
  const next = started.connection.next_bearer_token;
  check(next && next !== connection.bearer_token, "rotateStart gave no new token");
  equal((await scim(connection, connection.bearer_token, "GET", "/Users")).status, 200, "old token during rotation");
  equal((await scim(connection, next, "GET", "/Users")).status, 200, "new token during rotation");
  await step("scim.connection.rotateComplete", () => client.scim.connection.rotateComplete(ids));
  summary.old_token_after = (await scim(connection, connection.bearer_token, "GET", "/Users")).status;
  await step("scim.connection.rotateStart (again)", () => client.scim.connection.rotateStart(ids));
  await step("scim.connection.rotateCancel", () => client.scim.connection.rotateCancel(ids));

  await step("SCIM PATCH active false", async () => {
    const resp = await scim(connection, next, "PATCH", `/Users/${user.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    equal(resp.status, 200, "PATCH status");
  });
  const gone = await step("organizations.members.dangerouslyGet", () =>
    client.organizations.members.dangerouslyGet({ member_id: user.id, include_deleted: true }),
  );
  summary.status_after = gone.member.status;
  const got = await step("scim.connection.get", () => client.scim.connection.get({ organization_id: organizationID }));
  equal(got.connection.bearer_token_last_four, next.slice(-4), "bearer_token_last_four after rotation");
  await step("scim.connection.delete", () => client.scim.connection.delete(ids));
  summary.token_after_delete = (await scim(connection, next, "GET", "/Users")).status;
});
