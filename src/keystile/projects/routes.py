"""GET /v1/projects/metrics (PY `consumer/api/project.py`, `consumer/models/project.py`).

Stytch's `ProjectMetricMetricType` names five counts; keystile reports the three it keeps
(users, organizations, members). It has no M2M clients, so it does not claim a count of them,
and UNKNOWN is no count at all.
"""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.projects import service

router = APIRouter()


@router.get("/v1/projects/metrics")
async def metrics(ctx: Ctx) -> JSON:
    counted = await service.metrics(ctx)
    return ok(
        ctx.request_id,
        project_id=ctx.project_id,
        metrics=[
            {"metric_type": "USER_COUNT", "count": counted["users"]},
            {"metric_type": "ORGANIZATION_COUNT", "count": counted["organizations"]},
            {"metric_type": "MEMBER_COUNT", "count": counted["members"]},
        ],
    )
