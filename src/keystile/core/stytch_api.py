"""Stytch's v1 API as its official SDKs call it: every (method, path) with its product area and
SDK method, shipped as `stytch_api.tsv` beside this module. keystile uses it to answer a
request for an endpoint it does not serve yet with that, instead of "no such route", and
`keystile endpoints` lists what is served and what is not.

Which endpoints keystile serves is never written down here: it is read from the routes the
app serves (`served`), so an endpoint added to an area shows as served with no edit here.

The table is generated from the endpoint catalogue (a Markdown file with one table per area,
built from stytch 15.3.0 and the Node SDK 14.2.0):

    python -m keystile.core.stytch_api path/to/stytch-endpoints.md
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

TABLE = "stytch_api.tsv"
COLUMNS = ("product", "area", "sdk_method", "method", "path")


@dataclass(frozen=True)
class Endpoint:
    product: str  # "B2B" or "Consumer" (project-level APIs are listed under Consumer, as Stytch's SDKs share them)
    area: str  # e.g. "B2B Sessions"
    sdk_method: str  # the Python SDK's attribute path, e.g. "sessions.migrate"
    method: str
    path: str  # with {placeholders}, e.g. /v1/b2b/organizations/{organization_id}

    @property
    def pattern(self) -> re.Pattern[str]:
        return _template(self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@cache
def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p))


@cache
def endpoints() -> tuple[Endpoint, ...]:
    text = resources.files("keystile.core").joinpath(TABLE).read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    return tuple(Endpoint(*row) for row in rows)


def find(method: str, path: str) -> Endpoint | None:
    """Stytch's endpoint for this request, if it is one (a literal path before a template)."""
    matches = [e for e in endpoints() if e.method == method and e.pattern.fullmatch(path)]
    matches.sort(key=lambda e: e.path.count("{"))
    return matches[0] if matches else None


def served(routes: Iterable[Any]) -> set[tuple[str, str]]:
    """(method, path template) of every route in `routes`: an app's or a router's, with the
    routes of included routers (FastAPI keeps those behind one entry per `include_router`)."""
    found: set[tuple[str, str]] = set()
    for route in _flatten(routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and methods:
            found.update((m, path) for m in methods if m not in ("HEAD", "OPTIONS"))
    return found


def _flatten(routes: Iterable[Any]) -> Iterable[Any]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)  # an included router
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def _same(template_a: str, template_b: str) -> bool:
    """Two path templates name the same endpoint: equal once placeholders are anonymous."""
    anon = re.compile(r"\{[^}]+\}")
    return anon.sub("{}", template_a) == anon.sub("{}", template_b)


def status(routes: Iterable[Any]) -> list[tuple[Endpoint, bool]]:
    """Every Stytch endpoint with whether `routes` serve it."""
    serving = served(routes)
    return [(e, any(m == e.method and _same(p, e.path) for m, p in serving)) for e in endpoints()]


# --- generation ----------------------------------------------------------------------------


def parse_catalogue(markdown: str) -> list[Endpoint]:
    """The endpoint tables of the catalogue: a `### <area> — N endpoint(s)` heading, then rows
    `| # | SDK method | Node method | HTTP | Path | …`. A path used by both products is listed once."""
    product, area = "", ""
    found: list[Endpoint] = []
    seen: set[tuple[str, str]] = set()
    for line in markdown.splitlines():
        if line.startswith("## "):
            product = "B2B" if line.startswith("## B2B") else "Consumer" if "onsumer" in line else product
        heading = re.match(r"### (.+?) — \d+ endpoint", line)
        if heading:
            area = re.sub(r"\s*\(.*\)$", "", heading.group(1)).strip()  # "B2B SSO (generic / …)" → "B2B SSO"
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not area or len(cells) < 5 or not cells[0].isdigit():
            continue
        sdk_method = cells[1].replace("†", "").strip().strip("`")
        method, path = cells[3].split()[0], cells[4].strip("`")  # "POST (form)": a form body, still POST
        if (method, path) in seen:
            continue
        seen.add((method, path))
        found.append(Endpoint(product, area, sdk_method, method, path))
    return found


def write_table(found: list[Endpoint], target: Path) -> None:
    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join((e.product, e.area, e.sdk_method, e.method, e.path)) for e in found]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    catalogue = parse_catalogue(Path(sys.argv[1]).read_text(encoding="utf-8"))
    write_table(catalogue, Path(__file__).with_name(TABLE))
    print(f"{len(catalogue)} endpoints written to {TABLE}")
