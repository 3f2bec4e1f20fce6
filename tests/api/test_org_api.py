"""The organisation routes over HTTP: status codes, readable errors, tenant isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_health_needs_no_token_and_docs_are_served(api: tuple[TestClient, str]) -> None:
    client, _ = api
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/v1/") for p in paths)


def test_no_token_is_401_with_a_readable_message(api: tuple[TestClient, str]) -> None:
    client, _ = api
    r = client.get("/api/v1/orgs")
    assert r.status_code == 401
    assert "AICENTER_TOKEN" in r.json()["detail"]
    r = client.get("/api/v1/orgs", headers=bearer("aic_wrong"))
    assert r.status_code == 401 and "unknown" in r.json()["detail"]


def test_create_org_person_token_and_isolation(api: tuple[TestClient, str]) -> None:
    client, op = api
    a = client.post("/api/v1/orgs", json={"name": "A Lab", "org_class": "university"},
                    headers=bearer(op))
    assert a.status_code == 201, a.text
    b = client.post("/api/v1/orgs", json={"name": "B Corp", "org_class": "enterprise"},
                    headers=bearer(op)).json()
    dup = client.post("/api/v1/orgs", json={"name": "A Lab", "org_class": "university"},
                      headers=bearer(op))
    assert dup.status_code == 409 and "exists" in dup.json()["detail"]
    bad = client.post("/api/v1/orgs", json={"name": "X", "org_class": "pirate"},
                      headers=bearer(op))
    assert bad.status_code == 422 and "org_class" in bad.json()["detail"]
    person = client.post(f"/api/v1/orgs/{a.json()['id']}/people",
                         json={"name": "Lee", "email": "lee@a.kr", "role": "member"},
                         headers=bearer(op)).json()
    token = client.post(f"/api/v1/people/{person['id']}/tokens", json={"name": "cli"},
                        headers=bearer(op)).json()
    assert token["secret"].startswith("aic_")
    lee = bearer(token["secret"])
    assert client.get("/api/v1/whoami", headers=lee).json()["person"]["email"] == "lee@a.kr"
    assert [o["name"] for o in client.get("/api/v1/orgs", headers=lee).json()] == ["A Lab"]
    r = client.get(f"/api/v1/orgs/{b['id']}", headers=lee)
    assert r.status_code == 403 and "may not org:read" in r.json()["detail"]
    listed = client.get(f"/api/v1/people/{person['id']}/tokens", headers=lee).json()
    assert all(t["secret"] is None for t in listed)
