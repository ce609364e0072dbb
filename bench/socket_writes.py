"""What one ``transport.write()`` of a WebSocket frame costs per socket, by frame size.

    taskset -c 0 python -m bench.socket_writes [--sockets 1000] [--rounds 200]

Opens ``--sockets`` loopback TCP connections to a sink in the same process (uvloop, as the
server runs), then, for each frame size, writes one prepared text frame to every socket
``--rounds`` times, letting the loop run between rounds, and prints the median and the 10th
percentile of the time per write. Over loopback the kernel's receive path runs in the
writer's system call, so this is the sender's whole cost of a delivery short of a reader
that must be woken. It answers whether the size of Innovate's frames (a few hundred bytes
of JSON and HTML against the raw server's ~50) explains its higher cost per socket.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time

SIZES = (50, 600, 2000)


class Sink(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


def text_frame(size: int) -> bytes:
    """An unmasked server-to-client text frame with ``size`` bytes of payload."""
    header = bytes([0x81, size]) if size < 126 else bytes([0x81, 126]) + size.to_bytes(2, "big")
    return header + b"x" * size


async def measure(sockets: int, rounds: int) -> dict[int, tuple[float, float]]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transports = []
    for _ in range(sockets):
        transport, _ = await loop.create_connection(Sink, "127.0.0.1", port)
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transports.append(transport)
    results: dict[int, tuple[float, float]] = {}
    try:
        for size in SIZES:
            frame = text_frame(size)
            per_write = []
            for _ in range(rounds):
                started = time.perf_counter()
                for transport in transports:
                    transport.write(frame)
                per_write.append((time.perf_counter() - started) / sockets)
                await asyncio.sleep(0.005)  # the sinks read what was written
            per_write.sort()
            results[size] = (statistics.median(per_write), per_write[len(per_write) // 10])
    finally:
        for transport in transports:
            transport.close()
        server.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    import uvloop

    for size, (median, p10) in uvloop.run(measure(args.sockets, args.rounds)).items():
        print(f"{size:5d} B frames: {1e6 * median:.2f} µs per write (median), {1e6 * p10:.2f} µs (10th percentile)")


if __name__ == "__main__":
    main()
