"""Passwords: `keystile import` of many users with mixed hash types, and password logins.

Two measurements, each starting what it measures by itself on 127.0.0.1:

    .venv/bin/python bench/passwords.py import              # 100,000 users, SQLite
    .venv/bin/python bench/passwords.py import --users 20000 --database-url postgresql://…/scratch
    .venv/bin/python bench/passwords.py logins              # keystile serve --workers 2

`import` writes a JSON Lines file of N consumer users, each with a password hash of one of
the nine types `passwords.migrate` takes (in turn: bcrypt, md_5, argon_2i, argon_2id,
sha_1, sha_512, scrypt, phpass, pbkdf_2; made here by bcrypt, argon2-cffi, passlib and
hashlib from a pool of 16 passwords per type, since a hash is stored as given and never
computed by the import), then runs `keystile import` on it twice as a process of its own,
and reports each run's wall time, its peak resident memory (the child's ru_maxrss) and its
counts. The second run must create nothing.

`logins` starts `keystile serve --workers 2` (bench/sessions.py), gives `--users` users a
password through `passwords.create` (argon2id), then measures:

1. password logins/s: `passwords.authenticate` (a session of 60 minutes each) from
   `--connections` closed-loop connections, for `--seconds`;
2. consumer `sessions.authenticate` by token from `--connections` connections, alone and
   with 10 password logins per second alongside (an open-loop pacer firing one every 100
   ms), in `--rounds` alternating turns, pooled: the p99 of each and their ratio. Hashing
   runs off the event loop, so the ratio should stay under 1.5.

Timings never go into tests. Compare figures within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sessions import Result, console, keystile_cli, machine, running_keystile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests/
from tests.legacy_hashes import HASH_TYPES, REAL, made_hash


def write_users(path: Path, users: int, per_type: int = 16) -> None:
    pools = {
        t: [made_hash(t, f"import bench {t} {i} correct horse", REAL) for i in range(per_type)] for t in HASH_TYPES
    }
    run = secrets.token_hex(3)
    with path.open("w") as out:
        for i in range(users):
            hash_type = HASH_TYPES[i % len(HASH_TYPES)]
            line = {
                "email": f"user{i}-{run}@bench.test",
                "email_verified": i % 2 == 0,
                "name": {"first_name": "User", "last_name": str(i)},
                "external_id": f"bench-{run}-{i}",
                "trusted_metadata": {"plan": "free" if i % 3 else "pro"},
                "password": pools[hash_type][i % per_type],
            }
            out.write(json.dumps(line) + "\n")


def timed_import(env: dict[str, str], path: Path, project_id: str, batch_size: int) -> dict[str, Any]:
    """One `keystile import` process: its outcome, wall time and peak memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keystile",
            "import",
            str(path),
            "--project",
            project_id,
            "--json",
            "--quiet",
            "--batch-size",
            str(batch_size),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if not stdout:
        raise SystemExit(f"keystile import failed ({proc.returncode}):\n{stderr.decode()}")
    outcome = json.loads(stdout)
    outcome.pop("refused_lines", None)
    return {
        "exit": proc.returncode,
        "wall_seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        **outcome,
    }


def bench_import(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="keystile-import-bench-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTILE_")}
        env.update(KEYSTILE_ENV="dev", KEYSTILE_DATA_DIR=data_dir)
        if args.database_url:
            env["KEYSTILE_DATABASE_URL"] = args.database_url
        keystile_cli(env, "migrate")
        project = json.loads(keystile_cli(env, "projects", "create", "--name", "import-bench", "--json"))
        path = Path(data_dir) / "users.jsonl"
        started = time.perf_counter()
        write_users(path, args.users)
        console.print(
            f"[dim]{args.users:,} lines written in {time.perf_counter() - started:.1f} s "
            f"({path.stat().st_size / 2**20:.0f} MiB); importing…[/dim]"
        )
        first = timed_import(env, path, project["project_id"], args.batch_size)
        console.print(f"first run: {first}")
        second = timed_import(env, path, project["project_id"], args.batch_size)
        console.print(f"second run: {second}")
        print(
            json.dumps(
                {
                    "machine": machine(),
                    "database": "PostgreSQL" if args.database_url else "SQLite",
                    "users": args.users,
                    "first": first,
                    "second": second,
                },
                indent=2,
            )
        )


# ----------------------------------------------------------------------------- logins


async def bench_logins_async(args: argparse.Namespace, base_url: str, project: dict[str, str]) -> dict[str, Any]:
    import aiohttp

    token = base64.b64encode(f"{project['project_id']}:{project['secret']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
    password = "plum-Orbit-9-tangerine-Weave"
    connector = aiohttp.TCPConnector(limit=args.connections * 2 + 8)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with http.post(base_url + path, json=body, headers=headers) as resp:
                return resp.status, await resp.json()

        emails = [f"login{i}-{secrets.token_hex(3)}@bench.test" for i in range(args.users)]
        sessions: list[str] = []
        for email in emails:
            status, body = await post(
                "v1/passwords", {"email": email, "password": password, "session_duration_minutes": 600}
            )
            if status != 200:
                raise SystemExit(f"passwords.create answered {status}: {body}")
            sessions.append(body["session_token"])

        async def closed_loop(seconds: float, request: Any) -> Result:
            result = Result(target=None)  # type: ignore[arg-type]
            deadline = time.perf_counter() + seconds
            began = time.perf_counter()

            async def worker(n: int) -> None:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    status, body = await request(n)
                    if status == 200:
                        result.latencies.append(time.perf_counter() - started)
                    else:
                        result.errors += 1
                        result.first_error = result.first_error or json.dumps(body)[:300]

            await asyncio.gather(*(worker(n) for n in range(args.connections)))
            result.elapsed = time.perf_counter() - began
            return result

        def login(n: int) -> Any:
            return post(
                "v1/passwords/authenticate",
                {"email": emails[n % len(emails)], "password": password, "session_duration_minutes": 60},
            )

        def authenticate(n: int) -> Any:
            return post("v1/sessions/authenticate", {"session_token": sessions[n % len(sessions)]})

        console.print(
            f"[dim]password logins, {args.connections} connections: warm-up 2 s, then {args.seconds:g} s[/dim]"
        )
        await closed_loop(2, login)
        logins = await closed_loop(args.seconds, login)

        async def paced(seconds: float, per_second: float, tally: Result) -> None:
            tasks = []
            began = time.perf_counter()
            n = 0
            while time.perf_counter() - began < seconds:

                async def one(k: int) -> None:
                    started = time.perf_counter()
                    status, body = await login(k)
                    if status == 200:
                        tally.latencies.append(time.perf_counter() - started)
                    else:
                        tally.errors += 1
                        tally.first_error = tally.first_error or json.dumps(body)[:300]

                tasks.append(asyncio.create_task(one(n)))
                n += 1
                await asyncio.sleep(max(0.0, began + n / per_second - time.perf_counter()))
            await asyncio.gather(*tasks)
            tally.elapsed += time.perf_counter() - began

        alone, beside, paced_logins = Result(None), Result(None), Result(None)  # type: ignore[arg-type]
        await closed_loop(2, authenticate)
        turn = args.seconds / args.rounds
        for r in range(args.rounds):
            console.print(
                f"[dim]sessions.authenticate alone / with 10 logins/s: round {r + 1}/{args.rounds}, {turn:g} s each[/dim]"
            )
            part = await closed_loop(turn, authenticate)
            alone.latencies += part.latencies
            alone.errors += part.errors
            alone.elapsed += part.elapsed
            pacer = asyncio.create_task(paced(turn, 10, paced_logins))
            part = await closed_loop(turn, authenticate)
            await pacer
            beside.latencies += part.latencies
            beside.errors += part.errors
            beside.elapsed += part.elapsed

    def row(result: Result) -> dict[str, Any]:
        return {
            "requests": len(result.latencies),
            "errors": result.errors,
            "per_second": round(result.rps, 1),
            "p50_ms": round(result.percentile(50) * 1000, 1),
            "p99_ms": round(result.percentile(99) * 1000, 1),
            "first_error": result.first_error,
        }

    return {
        "password_logins": row(logins),
        "sessions_authenticate_alone": row(alone),
        "sessions_authenticate_with_10_logins_per_s": row(beside),
        "paced_logins": {
            **row(paced_logins),
            "per_second": round(len(paced_logins.latencies) / paced_logins.elapsed, 1) if paced_logins.elapsed else 0,
        },
        "p99_ratio": round(beside.percentile(99) / alone.percentile(99), 2),
    }


def bench_logins(args: argparse.Namespace) -> None:
    with running_keystile(args.database_url, args.workers, log_level="warning") as (base_url, project):
        load = os.getloadavg()
        figures = asyncio.run(bench_logins_async(args, base_url, project))
    print(
        json.dumps(
            {
                "machine": machine(),
                "workers": args.workers,
                "load_average_before": [round(x, 1) for x in load],
                "database": "PostgreSQL" if args.database_url else "SQLite",
                **figures,
            },
            indent=2,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    imp = sub.add_parser("import", help="keystile import of many users with mixed hash types, run twice")
    imp.add_argument("--users", type=int, default=100_000)
    imp.add_argument("--batch-size", type=int, default=500)
    imp.add_argument("--database-url", help="an empty scratch PostgreSQL database (default: SQLite in a temp dir)")
    logins = sub.add_parser("logins", help="password logins/s, and sessions.authenticate p99 beside 10 logins/s")
    logins.add_argument("--workers", type=int, default=2)
    logins.add_argument("--users", type=int, default=32)
    logins.add_argument("--connections", type=int, default=8)
    logins.add_argument("--seconds", type=float, default=12)
    logins.add_argument("--rounds", type=int, default=3)
    logins.add_argument("--database-url")
    args = parser.parse_args()
    bench_import(args) if args.what == "import" else bench_logins(args)


if __name__ == "__main__":
    main()
