// Shared helpers for the Node SDK scripts: configuration from the environment, the dev
// inbox, checks that explain themselves, and a runner that prints a JSON summary.

export function config() {
  const missing = ["KEYSTILE_URL", "STYTCH_PROJECT_ID", "STYTCH_SECRET"].filter((name) => !process.env[name]);
  if (missing.length) {
    throw new Error(`set ${missing.join(", ")} (keystile's base URL, a project id and its secret)`);
  }
  let baseURL = process.env.KEYSTILE_URL;
  if (!baseURL.endsWith("/")) baseURL += "/";
  return {
    baseURL,
    projectID: process.env.STYTCH_PROJECT_ID,
    secret: process.env.STYTCH_SECRET,
  };
}

// "Now" for checking JWT timestamps locally. A test server's clock may have been moved
// ahead of real time (KEYSTILE_CLOCK_OFFSET_MS, set by the pytest wrapper); against a
// real keystile it is unset and this is plain `new Date()`.
export function serverNow() {
  const offset = Number(process.env.KEYSTILE_CLOCK_OFFSET_MS || 0);
  return new Date(Date.now() + offset);
}

export function uniqueEmail(prefix) {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return `${prefix}-${tag}@example.com`;
}

// Every message sent to `email`, newest first, from keystile's dev inbox.
export async function inboxMessages(baseURL, email) {
  const url = new URL("dev/inbox/messages", baseURL);
  url.searchParams.set("to", email);
  const resp = await fetch(url);
  if (!resp.ok) {
    throw new Error(`GET ${url} answered ${resp.status}: ${await resp.text()}`);
  }
  const body = await resp.json();
  return body.messages;
}

// The newest link sent to `email` and its `token` query parameter.
export async function latestToken(baseURL, email) {
  const messages = await inboxMessages(baseURL, email);
  check(messages.length > 0, `the dev inbox has no email to ${email}`);
  const link = messages[0].links[0];
  check(link, `the newest email to ${email} has no link`);
  const token = new URL(link).searchParams.get("token");
  check(token, `the link ${link} has no token parameter`);
  return { link, token, count: messages.length };
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export function equal(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// Awaits `promise`, which must reject with a Stytch API error of `errorType`.
export async function expectStytchError(promise, errorType, what) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    if (err.error_type === errorType) return err;
    throw new Error(`${what}: expected error_type ${errorType}, got ${describe(err)}`);
  }
  throw new Error(`${what}: expected error_type ${errorType}, but it succeeded: ${JSON.stringify(result)}`);
}

function describe(err) {
  if (err && err.error_type) {
    return `${err.status_code} ${err.error_type}: ${err.error_message}`;
  }
  if (err && err.request) {
    // The SDK's RequestError: keystile could not be reached or did not answer JSON.
    return `${err.message} (${err.request.method} ${err.request.url}; is keystile running?)`;
  }
  if (err instanceof Error) {
    const cause = err.cause ? ` (cause: ${err.cause.message || err.cause})` : "";
    // Our own check failures read best as their message; anything else keeps its stack.
    return err.constructor === Error && !err.cause ? err.message : `${err.stack}${cause}`;
  }
  return String(err);
}

// Runs `body(step, summary)`: `await step("name", async () => ...)` runs one named step.
// Prints {script, ok, steps, ...summary} as JSON on stdout; at the first failure it also
// names the failing step on stderr and exits 1.
export async function run(name, body) {
  const summary = { script: name, ok: false, steps: [] };
  let current = "setup";
  const step = async (stepName, fn) => {
    current = stepName;
    const out = await fn();
    summary.steps.push(stepName);
    return out;
  };
  try {
    await body(step, summary);
    summary.ok = true;
    process.stdout.write(JSON.stringify(summary) + "\n");
  } catch (err) {
    summary.failed_step = current;
    summary.error = describe(err);
    process.stdout.write(JSON.stringify(summary) + "\n");
    process.stderr.write(`${name}: step "${current}" failed: ${summary.error}\n`);
    process.exitCode = 1;
  }
}
