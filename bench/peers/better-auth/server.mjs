// better-auth (SQLite through better-sqlite3) behind a bare node:http server: the peer
// keystile's session benchmark compares with. Usage: node server.mjs PORT DB_PATH
import http from "node:http";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";

const port = Number(process.argv[2] || 3005);
const db = new Database(process.argv[3] || ":memory:");
db.pragma("journal_mode = WAL");

const auth = betterAuth({
  database: db,
  baseURL: `http://127.0.0.1:${port}`,
  secret: "bench-only-secret-bench-only-secret-0123456789",
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
http
  .createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
      return;
    }
    handler(req, res);
  })
  .listen(port, "127.0.0.1", () => console.log(`better-auth on http://127.0.0.1:${port}`));
