from tests.conftest import graphql
from tests.factories import make_clinic

async def test_sub(client, superuser):
    w = await make_clinic(superuser)
    for accept in ("application/json", "application/graphql-response+json"):
        r = await client.post("/graphql", json={"query": "subscription { paymentChanged { op } }"}, headers={"Authorization": "Bearer " + w.token(w.admin), "Accept": accept})
        print(r.status_code, r.headers.get("content-type"), r.text[:300])
    r = await client.get("/graphql", params={"query": "subscription { paymentChanged { op } }"}, headers={"Authorization": "Bearer " + w.token(w.admin)})
    print(r.status_code, r.text[:300])
