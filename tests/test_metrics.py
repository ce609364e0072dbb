"""/metrics access and contents, request ids, JSON logs and log redaction."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from innovate import metrics
from innovate.db import create_engine
from innovate.observability import (
    JSONFormatter,
    RequestIdFilter,
    redact_path,
    request_id_var,
    scrub,
)
from tests.servers import serve

TOKEN = "metrics-token-" + "m" * 24


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return samples(response.text)


async def test_the_pool_gauges_read_the_pool_when_collected(tmp_path: Path) -> None:
    """In one process the pool's gauges cost a checkout nothing: they read the pool when
    a scrape collects them."""
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=2)
    try:
        metrics.watch_pool(engine)

        def checked_out() -> float | None:
            return metrics.REGISTRY.get_sample_value("innovate_db_pool_checked_out")

        assert checked_out() == 0
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            assert checked_out() == 1
            assert metrics.REGISTRY.get_sample_value("innovate_db_pool_size") == 2
        assert checked_out() == 0
    finally:
        await engine.dispose()


class TestWithoutToken:
    async def test_metrics_is_404_when_no_token_is_configured(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer anything"})).status_code == 404


class TestWithToken:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"metrics_token": TOKEN}

    async def test_metrics_needs_the_bearer_token(self, client: httpx.AsyncClient) -> None:
        missing = await client.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for header in (f"Bearer {TOKEN}x", "Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"):
            assert (await client.get("/metrics", headers={"Authorization": header})).status_code == 401, header
        assert (await client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 405
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        assert right.headers["content-type"].startswith("text/plain")
        assert "# TYPE innovate_http_requests_total counter" in right.text
        for name in ("innovate_ws_connections", "innovate_events_published_total", "innovate_events_delivered_total",
                     "innovate_fanout_latency_seconds", "innovate_ws_slow_consumer_disconnects_total",
                     "innovate_broker_reconnects_total", "innovate_db_pool_checked_out", "innovate_db_pool_size",
                     "innovate_http_request_duration_seconds"):
            assert f"# TYPE {name}" in right.text, name

    async def test_request_counters_and_latency_move_by_route_template(self, client: httpx.AsyncClient) -> None:
        before = await scrape(client)
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
        secret = "s3cr3t-link-token-that-must-not-leak"
        await client.get(f"/set-password/{secret}")
        await client.get("/no/such/page")
        after = await scrape(client)

        def moved(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("innovate_http_requests_total", method="GET", route="/healthz", status="200") == 3
        assert moved("innovate_http_request_duration_seconds_count", method="GET", route="/healthz") == 3
        assert moved("innovate_http_request_duration_seconds_bucket", method="GET", route="/healthz", le="+Inf") == 3
        assert moved("innovate_http_request_duration_seconds_count", method="GET", route="/set-password/{token}") == 1
        assert moved("innovate_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
        assert moved("innovate_http_requests_total", method="GET", route="/metrics", status="200") == 1
        assert value(after, "innovate_db_pool_size") >= 1
        text = (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
        assert secret not in text and "/no/such/page" not in text

    async def test_metric_objects_others_update_show_up(self, client: httpx.AsyncClient) -> None:
        before = await scrape(client)
        metrics.WS_CONNECTIONS.inc()
        metrics.EVENTS_PUBLISHED.labels("message.posted").inc()
        metrics.EVENTS_DELIVERED.inc(2)
        metrics.FANOUT_LATENCY.observe(0.003)
        metrics.WS_SLOW_CONSUMERS.inc()
        metrics.BROKER_RECONNECTS.labels("redis").inc()
        after = await scrape(client)
        metrics.WS_CONNECTIONS.dec()

        def moved(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("innovate_ws_connections") == 1
        assert moved("innovate_events_published_total", kind="message.posted") == 1
        assert moved("innovate_events_delivered_total") == 2
        assert moved("innovate_fanout_latency_seconds_count") == 1
        assert moved("innovate_ws_slow_consumer_disconnects_total") == 1
        assert moved("innovate_broker_reconnects_total", broker="redis") == 1

    async def test_request_id_is_kept_when_well_formed_and_made_otherwise(self, client: httpx.AsyncClient) -> None:
        kept = await client.get("/healthz", headers={"X-Request-ID": "req-0123456789abcdef"})
        assert kept.headers["x-request-id"] == "req-0123456789abcdef"
        for bad in ("short", "has spaces in it", "x" * 200, "bad\u00e9chars-12345"):
            response = await client.get("/healthz", headers={b"X-Request-ID": bad.encode("utf-8")})
            assert response.headers["x-request-id"] != bad
            assert len(response.headers["x-request-id"]) == 32
        first = (await client.get("/healthz")).headers["x-request-id"]
        second = (await client.get("/healthz")).headers["x-request-id"]
        assert first != second


def test_redaction_of_paths_and_text() -> None:
    assert redact_path("/join/abcDEF123_-x") == "/join/[redacted]"
    assert redact_path("/setup/tok?x=1") == "/setup/[redacted]?[redacted]"
    assert redact_path("/set-password/tok/extra") == "/set-password/[redacted]/extra"
    assert redact_path("/rooms/ideas-2026/live?after=12") == "/rooms/ideas-2026/live?[redacted]"
    assert redact_path("/rooms/join") == "/rooms/join"
    line = scrub("auth Authorization: Bearer abc.DEF-123 for http://x/join/tok123 done")
    assert "abc.DEF-123" not in line and "tok123" not in line
    sql = scrub('IntegrityError\n[SQL: INSERT INTO messages]\n[parameters: (1, "private body")]\n(Background on this error at: x)')
    assert "private body" not in sql and "[SQL: INSERT INTO messages]" in sql


def test_json_formatter_carries_the_request_id_and_scrubs() -> None:
    record = logging.LogRecord("innovate.test", logging.WARNING, __file__, 1,
                               "token %s via %s", ("Bearer tok-abc-123", "/join/inv1te"), None)
    reset = request_id_var.set("req-abcdef012345")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(reset)
    entry = json.loads(JSONFormatter().format(record))
    assert entry["request_id"] == "req-abcdef012345"
    assert entry["level"] == "warning" and entry["logger"] == "innovate.test"
    assert "tok-abc-123" not in entry["message"] and "inv1te" not in entry["message"]


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_real_server_json_logs_redact_tokens_and_carry_request_ids(tmp_path: Path) -> None:
    server = serve(tmp_path, {
        "INNOVATE_DATA_DIR": str(tmp_path / "data"),
        "INNOVATE_LOG_FORMAT": "json",
        "INNOVATE_METRICS_TOKEN": TOKEN,
    })
    invite = "inviteTOKEN-0123456789abcdefghij"
    setup = "setupTOKEN-0123456789abcdefghij"
    bearer = "pat_bearer_0123456789abcdefghij"
    ws_secret = "wsTOKEN-0123456789abcdefghij"
    try:
        with httpx.Client(base_url=server.url) as http:
            http.get(f"/join/{invite}", headers={"X-Request-ID": "join-request-0001"})
            http.get(f"/setup/{setup}?next=/x")
            http.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
            assert http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        with pytest.raises(InvalidStatus):
            with connect(f"ws://127.0.0.1:{server.port}/join/{ws_secret}?after=1", open_timeout=10):
                pass
    finally:
        assert server.stop() in server.CLEAN_EXITS
    logs = server.logs()
    assert "Application shutdown complete" in logs
    for secret in (invite, setup, bearer, TOKEN, ws_secret):
        assert secret not in logs
    sockets = [e for e in _json_lines(logs) if e.get("http", {}).get("method") == "WebSocket"]
    assert [e["http"]["path"] for e in sockets] == ["/join/[redacted]?[redacted]"]
    access = [e for e in _json_lines(logs) if e.get("logger") == "uvicorn.access"]
    assert {e["http"]["path"] for e in access} >= {"/join/[redacted]", "/setup/[redacted]?[redacted]", "/api/v1/me"}
    join = next(e for e in access if e["http"]["path"] == "/join/[redacted]")
    assert join["request_id"] == "join-request-0001"
    assert all(len(e.get("request_id", "")) >= 8 for e in access)


def test_real_server_serves_metrics_on_its_own_port_when_configured(tmp_path: Path, unused_tcp_port: int) -> None:
    server = serve(tmp_path, {
        "INNOVATE_DATA_DIR": str(tmp_path / "data"),
        "INNOVATE_METRICS_TOKEN": TOKEN,
        "INNOVATE_METRICS_PORT": str(unused_tcp_port),
    })
    try:
        with httpx.Client() as http:
            assert http.get(f"{server.url}/healthz").status_code == 200
            assert http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
            port_url = f"http://127.0.0.1:{unused_tcp_port}/metrics"
            assert http.get(port_url).status_code == 401
            scraped = http.get(port_url, headers={"Authorization": f"Bearer {TOKEN}"})
            assert scraped.status_code == 200
            found = samples(scraped.text)
            assert value(found, "innovate_http_requests_total", method="GET", route="/healthz", status="200") >= 1
    finally:
        assert server.stop(signal.SIGTERM) in server.CLEAN_EXITS
