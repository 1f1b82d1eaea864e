"""Webhooks go out over kept-alive connections, at most ``PER_HOST`` to one destination, and a destination that
hangs or refuses holds back no other. Every check is on state (connections, requests, delivery records)."""

from __future__ import annotations

import time

from fbfailover.sandbox.webhook_delivery import PER_HOST
from tests.ports import free_port
from tests.sandbox.sandbox_helpers import CountingServer, create_app, mint, post_dispatch


def _deliveries_until(box, predicate, timeout: float = 20.0) -> list[dict]:
    """The sandbox's deliveries once ``predicate(deliveries)`` holds (the last ones read otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        found = box.deliveries()
        if predicate(found) or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def test_the_webhooks_of_dispatches_reuse_kept_alive_connections(sandbox, key_pair):
    with CountingServer() as server:
        app = create_app(sandbox, key_pair[1], server.url)
        token = mint(app["id"], key_pair[0])
        post_dispatch(sandbox, token)
        sandbox.advance(700)  # Messenger submitted, delivered; SMS submitted, delivered; the final report
        assert server.wait_until(lambda s: s.requests == 5)
        assert server.connections == 1  # one after another over the same connection
        for _ in range(3):
            post_dispatch(sandbox, token)
        sandbox.advance(700)
        assert server.wait_until(lambda s: s.requests == 20)
        assert server.connections <= 3  # at most one per dispatch under way at once, then kept
        assert {d["status"] for d in sandbox.deliveries()} == {"delivered"}


def test_a_destination_that_hangs_holds_its_connections_while_others_are_delivered(sandbox, key_pair):
    with CountingServer() as stuck, CountingServer() as healthy:
        stuck.hang()
        stuck_app = create_app(sandbox, key_pair[1], stuck.url, name="stuck receiver")
        healthy_app = create_app(sandbox, key_pair[1], healthy.url, name="healthy receiver")
        refused_app = create_app(sandbox, key_pair[1], f"http://127.0.0.1:{free_port()}", name="nobody listens")
        stuck_token = mint(stuck_app["id"], key_pair[0])
        for _ in range(PER_HOST + 8):  # each sends its "submitted" webhook at once
            post_dispatch(sandbox, stuck_token)
        assert stuck.wait_until(lambda s: s.waiting == PER_HOST)

        for _ in range(10):
            post_dispatch(sandbox, mint(healthy_app["id"], key_pair[0]))
            post_dispatch(sandbox, mint(refused_app["id"], key_pair[0]))
        assert healthy.wait_until(lambda s: s.requests == 10)
        refused_url = refused_app["capabilities"]["messages"]["webhooks"]["status_url"]["address"]
        found = _deliveries_until(sandbox, lambda ds: sum(d["url"] == refused_url and len(d["attempts"]) == 1
                                                          for d in ds) == 10)

        # the stuck destination still holds exactly its PER_HOST connections; nothing it holds was recorded
        assert (stuck.open, stuck.connections, stuck.waiting) == (PER_HOST, PER_HOST, PER_HOST)
        stuck_url = stuck_app["capabilities"]["messages"]["webhooks"]["status_url"]["address"]
        held = [d for d in found if d["url"] == stuck_url]
        assert len(held) == PER_HOST + 8
        assert all(d["status"] == "pending" and d["attempts"] == [] for d in held)
        refused = [d for d in found if d["url"] == refused_url]
        assert all(d["status"] == "pending" and d["attempts"][0]["status_code"] is None for d in refused)
        healthy_url = healthy_app["capabilities"]["messages"]["webhooks"]["status_url"]["address"]
        assert [d["status"] for d in found if d["url"] == healthy_url] == ["delivered"] * 10

        # once it answers again, the attempts that waited for a connection go out; those it held are retried
        stuck.hanging = False
        stuck.release()
        found = _deliveries_until(sandbox, lambda ds: sum(d["url"] == stuck_url and d["attempts"] != []
                                                          for d in ds) == PER_HOST + 8)
        held = [d for d in found if d["url"] == stuck_url]
        assert sum(d["status"] == "delivered" for d in held) == 8
        assert sum(d["status"] == "pending" and d["attempts"][0]["status_code"] is None for d in held) == PER_HOST


def _dispatch_of(body: dict) -> str | None:
    return body.get("dispatch_uuid") or body.get("_links", {}).get("dispatch", {}).get("dispatch_uuid")


def test_webhooks_of_each_dispatch_arrive_in_the_order_they_were_raised_while_many_go_out_at_once(
    tmp_path, collector, key_pair
):
    from fbfailover.sandbox import start

    # the real clock, ten times the default pace: 30 dispatches' 150 webhooks go out over many connections at once
    with start(db=tmp_path / "sandbox.sqlite3", time_scale=6000) as box:
        app = create_app(box, key_pair[1], collector.url)
        token = mint(app["id"], key_pair[0])
        uuids = [post_dispatch(box, token).json()["dispatch_uuid"] for _ in range(30)]
        hits = collector.wait(150, "/status", timeout=60)
        assert len(hits) == 150
        for dispatch_uuid in uuids:
            arrived = [h.json() for h in hits if _dispatch_of(h.json()) == dispatch_uuid]
            raised = [d["body"] for d in box.deliveries(dispatch_uuid=dispatch_uuid)]  # in delivery-id order
            assert arrived == raised
            assert [b.get("status") for b in arrived] == ["submitted", "delivered", "submitted", "delivered",
                                                          "completed"]


def test_localhost_is_loopback_without_a_name_lookup(monkeypatch):
    import asyncio
    import socket

    from fbfailover.sandbox.outbound import LocalResolver

    async def resolve(host: str, family: socket.AddressFamily) -> list[str]:
        loop = asyncio.get_running_loop()

        async def no_lookup(*args, **kwargs):
            raise AssertionError(f"looked up {args[0]!r} in a thread")

        monkeypatch.setattr(loop, "getaddrinfo", no_lookup)
        return [r["host"] for r in await LocalResolver().resolve(host, 3000, family)]

    assert asyncio.run(resolve("localhost", socket.AF_UNSPEC)) == ["127.0.0.1", "::1"]
    assert asyncio.run(resolve("LocalHost.", socket.AF_INET)) == ["127.0.0.1"]
    assert asyncio.run(resolve("app.localhost", socket.AF_INET6)) == ["::1"]
