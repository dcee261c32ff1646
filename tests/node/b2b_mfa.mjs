// B2B MFA through the official Node SDK, end to end against keystile: an organization that
// requires MFA of everyone is created through discovery → the answer is an intermediate
// session with mfa_required → totps.create → a TOTP code (computed here, RFC 6238) →
// totps.authenticate completes a session holding both factors → recoveryCodes.get / rotate
// → a recovery code steps the session up → the same code again fails.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=… STYTCH_SECRET=… node b2b_mfa.mjs

import { createHmac } from "node:crypto";

import stytch from "stytch";

import { check, config, equal, expectStytchError, latestToken, run, serverNow, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const client = new stytch.B2BClient({ project_id: projectID, secret, env: baseURL });
const email = uniqueEmail("node-mfa");

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// The 6-digit TOTP of `secretBase32` at the server's now (SHA-1, 30-second steps).
function totp(secretBase32) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(serverNow().getTime() / 1000 / 30)));
  const digest = createHmac("sha1", base32Decode(secretBase32)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

await run("b2b_mfa", async (step, summary) => {
  await step("magicLinks.email.discovery.send", () => client.magicLinks.email.discovery.send({ email_address: email }));
  const link = await step("dev inbox", () => latestToken(baseURL, email));
  const discovered = await step("magicLinks.discovery.authenticate", () =>
    client.magicLinks.discovery.authenticate({ discovery_magic_links_token: link.token }),
  );
  const created = await step("discovery.organizations.create", () =>
    client.discovery.organizations.create({
      intermediate_session_token: discovered.intermediate_session_token,
      organization_name: "Node MFA Org",
      mfa_policy: "REQUIRED_FOR_ALL",
    }),
  );
  equal(created.member_authenticated, false, "member_authenticated under REQUIRED_FOR_ALL");
  equal(created.session_token, "", "session_token before the second factor");
  check(created.intermediate_session_token, "no intermediate_session_token");
  check(created.mfa_required, "no mfa_required");
  const organizationID = created.organization.organization_id;
  const memberID = created.member.member_id;

  const registration = await step("totps.create", () =>
    client.totps.create({
      organization_id: organizationID,
      member_id: memberID,
      intermediate_session_token: created.intermediate_session_token,
    }),
  );
  check(registration.qr_code.startsWith("data:image/png;base64,"), "qr_code is not a PNG data URL");
  equal(registration.recovery_codes.length, 10, "recovery codes minted");

  const done = await step("totps.authenticate", () =>
    client.totps.authenticate({
      organization_id: organizationID,
      member_id: memberID,
      code: totp(registration.secret),
      intermediate_session_token: created.intermediate_session_token,
    }),
  );
  check(done.session_token, "totps.authenticate returned no session_token");
  summary.factors = done.member_session.authentication_factors.map((f) => f.type);
  summary.totp_registration_id = done.member.totp_registration_id;

  const codes = await step("recoveryCodes.get", () =>
    client.recoveryCodes.get({ organization_id: organizationID, member_id: memberID }),
  );
  equal(codes.recovery_codes.length, 10, "recovery codes listed");
  const rotated = await step("recoveryCodes.rotate", () =>
    client.recoveryCodes.rotate({ organization_id: organizationID, member_id: memberID }),
  );
  const recovered = await step("recoveryCodes.recover", () =>
    client.recoveryCodes.recover({
      organization_id: organizationID,
      member_id: memberID,
      recovery_code: rotated.recovery_codes[0],
      session_token: done.session_token,
    }),
  );
  summary.recovery_codes_remaining = recovered.recovery_codes_remaining;
  summary.stepped_factors = recovered.member_session.authentication_factors.map((f) => f.type);
  await step("recoveryCodes.recover (used code)", () =>
    expectStytchError(
      client.recoveryCodes.recover({
        organization_id: organizationID,
        member_id: memberID,
        recovery_code: rotated.recovery_codes[0],
        session_token: done.session_token,
      }),
      "unable_to_authenticate_recovery_code",
      "a used recovery code",
    ),
  );
});
