"""Websocket: event-to-client latency with 200 connected clients (p50, p99).

    .venv/bin/python bench/websocket_latency.py [--clients 200] [--events 20]

Connects N real LiveConsumer sessions (channels' WebsocketCommunicator against
selfheal_site.asgi.application, the real Redis channel layer on a private embedded Redis), then
sends events the way a worker does (healing.broadcast.send_now from another thread, its own Redis
connection), and times each event from the send to its arrival at every client. One figure per
(event, client) pair. Target (the design): live updates under 1 s; we use p99 < 500 ms."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import _env

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1")]


async def run(clients: int, events: int) -> tuple[list[float], float]:
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from healing.broadcast import ENGINE_GROUP, send_now
    from selfheal_site.asgi import application
    from tests import factories

    user = await database_sync_to_async(factories.make_user)("bench-reviewer", "reviewer")
    token = await database_sync_to_async(factories.token_for)(user)
    started = time.perf_counter()
    communicators = []
    for _ in range(clients):
        auth = (b"authorization", f"Token {token}".encode())  # never in the URL
        c = WebsocketCommunicator(application, "/ws/live/", headers=[*HEADERS, auth])
        connected, code = await c.connect(timeout=30)
        assert connected, code
        hello = await c.receive_json_from(timeout=30)
        assert hello["kind"] == "hello"
        communicators.append(c)
    connect_s = time.perf_counter() - started
    latencies: list[float] = []

    async def receive(c: WebsocketCommunicator, n: int) -> float:
        while True:
            msg = await c.receive_json_from(timeout=30)
            if msg["kind"] == "bench.event" and msg["payload"]["n"] == n:
                return (time.time() - msg["payload"]["t"]) * 1000

    for n in range(events + 2):
        waiting = [asyncio.ensure_future(receive(c, n)) for c in communicators]
        await asyncio.sleep(0.05)
        sender = threading.Thread(
            target=send_now, args=(ENGINE_GROUP, "bench.event", {"n": n, "t": time.time()})
        )
        sender.start()
        got = await asyncio.gather(*waiting)
        sender.join()
        if n >= 2:  # the first two warm the connections up
            latencies.extend(got)
    for c in communicators:
        await c.disconnect()
    return latencies, connect_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    _env.setup("ws")
    from _table import header, row
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    latencies, connect_s = asyncio.run(run(args.clients, args.events))
    q = statistics.quantiles(latencies, n=100)
    print(f"channel layer: {layer}; {args.clients} clients connected in {connect_s:.1f} s")
    header()
    row(
        f"websocket event → client, {args.clients} clients, p50 ({len(latencies)} deliveries)",
        f"{statistics.median(latencies):.1f} ms",
        f"p5–p95 {q[4]:.1f}–{q[94]:.1f} ms",
    )
    row(
        f"websocket event → client, {args.clients} clients, p99",
        f"{q[98]:.1f} ms",
        f"max {max(latencies):.1f} ms",
        target="p99 < 500 ms",
        met=q[98] < 500,
    )


if __name__ == "__main__":
    main()
