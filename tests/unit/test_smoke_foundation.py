import requests


def test_jwks_is_served_without_auth(project):
    resp = requests.get(f"{project.server.base_url}v1/b2b/sessions/jwks/{project.project_id}", timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["keys"][0]["alg"] == "RS256"
    assert "max-age" in resp.headers["cache-control"]


def test_unknown_route_is_an_envelope(project):
    resp = requests.get(f"{project.server.base_url}v1/nope", auth=project.auth, timeout=10)
    assert resp.status_code == 404
    assert resp.json()["error_type"] == "route_not_found"


def test_a_started_server_keeps_the_collector_off_its_long_lived_objects(server):
    """`settle_heap` ran at start-up: what lived then is frozen out of the collector's
    generations, and young collections are rarer (keystile/app.py)."""
    import gc

    from keystile.app import GC_YOUNG_THRESHOLD

    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
