// A test project's clock through the official Node SDK: after `POST /dev/clock/advance`
// (61 minutes), the project's magic link and session have expired, while those of a neighbour
// project on the same keystile, whose clock did not move, still work.
//
//   KEYSTILE_URL=http://127.0.0.1:4010/ STYTCH_PROJECT_ID=project-test-… STYTCH_SECRET=… \
//   NEIGHBOUR_PROJECT_ID=project-test-… NEIGHBOUR_SECRET=… node test_clock.mjs

import stytch from "stytch";

import { check, config, equal, expectStytchError, latestToken, run, uniqueEmail } from "./lib.mjs";

const { baseURL, projectID, secret } = config();
const neighbourID = process.env.NEIGHBOUR_PROJECT_ID;
const neighbourSecret = process.env.NEIGHBOUR_SECRET;
check(neighbourID && neighbourSecret, "set NEIGHBOUR_PROJECT_ID and NEIGHBOUR_SECRET (a second test project)");
const ours = new stytch.Client({ project_id: projectID, secret, env: baseURL });
const theirs = new stytch.Client({ project_id: neighbourID, secret: neighbourSecret, env: baseURL });

// A link (valid 60 minutes, not yet used) and a 60-minute session, in one project.
async function linkAndSession(step, client, who) {
  const linkEmail = uniqueEmail(`${who}-link`);
  await step(`${who} magicLinks.email.loginOrCreate`, () =>
    client.magicLinks.email.loginOrCreate({ email: linkEmail, signup_expiration_minutes: 60 }),
  );
  const sessionEmail = uniqueEmail(`${who}-session`);
  await step(`${who} magicLinks.email.loginOrCreate (session)`, () =>
    client.magicLinks.email.loginOrCreate({ email: sessionEmail, signup_expiration_minutes: 60 }),
  );
  const { token } = await latestToken(baseURL, sessionEmail);
  const started = await step(`${who} magicLinks.authenticate`, () =>
    client.magicLinks.authenticate({ token, session_duration_minutes: 60 }),
  );
  return { link: (await latestToken(baseURL, linkEmail)).token, session: started.session_token };
}

async function advance(duration) {
  const resp = await fetch(new URL("dev/clock/advance", baseURL), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Basic ${Buffer.from(`${projectID}:${secret}`).toString("base64")}`,
    },
    body: JSON.stringify({ duration }),
  });
  const body = await resp.json();
  check(resp.ok, `POST /dev/clock/advance answered ${resp.status}: ${JSON.stringify(body)}`);
  return body;
}

await run("test_clock", async (step, summary) => {
  const mine = await linkAndSession(step, ours, "ours");
  const neighbour = await linkAndSession(step, theirs, "theirs");

  const moved = await step("POST /dev/clock/advance", () => advance("61m"));
  summary.offset_seconds = moved.offset_seconds;

  await step("ours magicLinks.authenticate (expired)", () =>
    expectStytchError(ours.magicLinks.authenticate({ token: mine.link }), "unable_to_auth_magic_link", "our link"),
  );
  await step("ours sessions.authenticate (expired)", () =>
    expectStytchError(ours.sessions.authenticate({ session_token: mine.session }), "session_not_found", "our session"),
  );
  const linked = await step("theirs magicLinks.authenticate", () =>
    theirs.magicLinks.authenticate({ token: neighbour.link }),
  );
  check(linked.user_id.startsWith("user-test-"), "the neighbour's link logs its user in");
  const still = await step("theirs sessions.authenticate", () =>
    theirs.sessions.authenticate({ session_token: neighbour.session }),
  );
  equal(still.session_token, neighbour.session, "the neighbour's session");
});
