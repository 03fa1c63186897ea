#!/usr/bin/env python3
"""Sends N messages of SIZE bytes over C concurrent SMTP connections and
prints the median and p99 time from the end of DATA to the server's 250."""
import asyncio, statistics, sys, time

host, port, total, conns, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
line = b"x" * 76 + b"\r\n"
body = b"Subject: [secure] latency\r\nFrom: alice@corp.example\r\nTo: bob@gmail.example\r\n\r\n" + line * (size // len(line)) + b".\r\n"
timings = []

async def reply(reader):
    while True:
        l = await reader.readline()
        if not l:
            raise RuntimeError("connection closed")
        if l[3:4] != b"-":
            return l

async def worker(count):
    reader, writer = await asyncio.open_connection(host, port)
    await reply(reader)
    writer.write(b"EHLO bench.example\r\n"); await reply(reader)
    for i in range(count):
        writer.write(b"MAIL FROM:<alice@corp.example>\r\nRCPT TO:<bob%d@gmail.example>\r\nDATA\r\n" % i)
        for _ in range(3):
            await reply(reader)
        writer.write(body)
        start = time.perf_counter()
        r = await reply(reader)
        timings.append(time.perf_counter() - start)
        if not r.startswith(b"250"):
            raise RuntimeError(r)
    writer.write(b"QUIT\r\n"); await reply(reader)
    writer.close()

async def main():
    per = total // conns
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(per) for _ in range(conns)))
    elapsed = time.perf_counter() - t0
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"{len(timings)} {elapsed:.3f} {statistics.median(timings) * 1000:.2f} {p99 * 1000:.2f}")

asyncio.run(main())
