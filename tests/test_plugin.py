"""The plugin loads in Datasette and offers hamming() in SQL."""

import pytest
from datasette.app import Datasette
from datasette.plugins import pm

import datasette_cattags
from ingest.pipeline import ingest

if not pm.is_registered(datasette_cattags):  # installed in develop mode: already there
    pm.register(datasette_cattags, name="datasette-cattags")


@pytest.fixture
def cats_db(cats):
    ingest(cats, workers=1)
    return cats / "cats.db"


@pytest.mark.asyncio
async def test_plugin_is_installed():
    ds = Datasette(memory=True)
    response = await ds.client.get("/-/plugins.json")
    assert any(p["name"] in ("datasette-cattags", "datasette_cattags") for p in response.json())


@pytest.mark.asyncio
async def test_hamming_orders_the_nearest_cats_in_sql(cats_db):
    ds = Datasette([str(cats_db)])
    sql = (
        "select b.id, hamming(a.whash, b.whash) as d, hamming(a.whash_int, b.whash_int) as d2"
        " from images a, images b where a.id = (select min(id) from images) order by d limit 3"
    )
    response = await ds.client.get("/cats.json", params={"sql": sql, "_shape": "array"})
    assert response.status_code == 200, response.text
    got = response.json()
    assert got[0]["d"] == 0 and all(row["d"] == row["d2"] for row in got)
    assert [row["d"] for row in got] == sorted(row["d"] for row in got)


@pytest.mark.asyncio
async def test_serve_order_startup_then_app(cats_db):
    """`datasette serve` calls invoke_startup() before building the app."""
    ds = Datasette([str(cats_db)])
    await ds.invoke_startup()
    assert ds.app() is not None
    response = await ds.client.get("/cats/images.json?_shape=array&_size=2")
    assert response.status_code == 200 and len(response.json()) == 2
