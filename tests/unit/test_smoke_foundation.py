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
