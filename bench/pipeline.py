#!/usr/bin/env python3
"""Whole-pipeline benchmark (not a test): N protected messages of SIZE bytes
go into sealpost over SMTP (10 connections) and out to a sink standing in for
the relay; the table shows messages per second from the first message sent
to the last one handed to the relay, and the time from 250 to hand-off per
message, for four set-ups measured in the same run:

  no inspection     transport decryption disabled: passed on as it came
  decryption only   optional: decrypted, re-encrypted, marked
  + 20 rules        and 20 transport rules (words, patterns, sensitive
                    numbers, attachments; one matches and prepends)
  + clamd           and ClamAV scanning (Debian's clamd, a local signature)

Usage: bench/pipeline.py SEALPOST_BINARY [N] [SIZE]   (bench/pipeline.sh builds it)
"""
import asyncio, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
SIZE = int(sys.argv[3]) if len(sys.argv) > 3 else 51200
HTTP, SMTP, SINK, CLAMD = 3980, 3981, 3982, 3983
WORK = tempfile.mkdtemp(prefix="sealpost-bench-")
ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "SEALPOST_DATA_DIR": f"{WORK}/data",
    "SEALPOST_RELAY_URL": f"smtp://127.0.0.1:{SINK}",
    "SEALPOST_INTERNAL_DOMAINS": "corp.example",
    "SEALPOST_HTTP_ADDR": f"127.0.0.1:{HTTP}",
    "SEALPOST_SMTP_ADDR": f"127.0.0.1:{SMTP}",
    "RUST_LOG": "error",
}


def cli(*args, stdin=None):
    out = subprocess.run([BIN, *args], input=stdin, env=ENV, capture_output=True)
    if out.returncode != 0:
        sys.exit(f"sealpost {' '.join(args)}: {out.stderr.decode()}")
    return out.stdout


# --- the relay: an SMTP sink that notes when each Message-ID arrived ----------
arrived = {}


async def sink_session(reader, writer):
    try:
        await sink_dialogue(reader, writer)
    except (asyncio.CancelledError, ConnectionError):
        pass  # the run is over, or sealpost closed its pooled connection


async def sink_dialogue(reader, writer):
    async def say(line):
        writer.write(line + b"\r\n")
        await writer.drain()

    await say(b"220 sink ESMTP")
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb == b"DATA":
            await say(b"354 go on")
            message_id = None
            while True:
                l = await reader.readline()
                if l == b".\r\n" or not l:
                    break
                if message_id is None and l[:11].lower() == b"message-id:":
                    message_id = l[11:].strip().decode()
            if message_id:
                arrived[message_id] = time.perf_counter()
            await say(b"250 ok")
        elif verb == b"QUIT":
            await say(b"221 bye")
            break
        elif verb in (b"EHLO", b"HELO"):
            await say(b"250 sink")
        else:
            await say(b"250 ok")
    writer.close()


# --- the senders ----------------------------------------------------------------
async def reply(reader):
    while True:
        l = await reader.readline()
        if not l:
            raise RuntimeError("connection closed")
        if l[3:4] != b"-":
            return l


async def send_all(messages, accepted):
    queue = list(messages)

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", SMTP)
        await reply(reader)
        writer.write(b"EHLO bench.example\r\n")
        await reply(reader)
        while queue:
            message_id, data = queue.pop()
            writer.write(b"MAIL FROM:<alice@corp.example>\r\nRCPT TO:<carol@corp.example>\r\nDATA\r\n")
            for _ in range(3):
                await reply(reader)
            writer.write(data)
            r = await reply(reader)
            if not r.startswith(b"250"):
                raise RuntimeError(r)
            accepted[message_id] = time.perf_counter()
        writer.write(b"QUIT\r\n")
        await reply(reader)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(10)))


def dot_stuffed(raw):
    lines = raw.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines) + b".\r\n"


# --- sealpost -----------------------------------------------------------------------
server = None


def start(extra=None):
    global server
    env = dict(ENV, **(extra or {}))
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/err.log", "ab"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", SMTP), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("sealpost did not start: " + open(f"{WORK}/err.log").read())


def stop():
    server.send_signal(signal.SIGTERM)
    server.wait()


def start_clamd():
    os.makedirs(f"{WORK}/clamd/db")
    marker = "SEALPOST-BENCH-MARKER".encode().hex()
    open(f"{WORK}/clamd/db/bench.ndb", "w").write(f"Sealpost.Bench.Marker:0:*:{marker}\n")
    open(f"{WORK}/clamd/clamd.conf", "w").write(
        f"Foreground yes\nDatabaseDirectory {WORK}/clamd/db\nTCPSocket {CLAMD}\nTCPAddr 127.0.0.1\n"
        f"StreamMaxLength 60M\nMaxThreads 4\nLogFile {WORK}/clamd/clamd.log\n")
    clamd = shutil.which("clamd") or "/usr/sbin/clamd"
    proc = subprocess.Popen([clamd, "-c", f"{WORK}/clamd/clamd.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            s = socket.create_connection(("127.0.0.1", CLAMD), timeout=0.2)
            s.sendall(b"zPING\0")
            if s.recv(16).startswith(b"PONG"):
                s.close()
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("clamd did not start")


RULES = [
    ["--subject-or-body-contains", "merger", "--subject-or-body-contains", "acquisition", "--prepend-subject", "[M&A] "],
    ["--subject-or-body-matches", r"invoice\s+#\d{6}", "--prepend-subject", "[invoice] "],
    ["--contains-sensitive", "us-ssn", "--append-disclaimer-text", "This message contained a social security number."],
    ["--contains-sensitive", "credit-card:2", "--reject", "Card numbers may not be sent by mail."],
    ["--contains-sensitive", "my-number", "--prepend-subject", "[個人番号] "],
    ["--attachment-name-matches", "*.exe", "--reject", "Programs may not be sent by mail."],
    ["--attachment-type", "application/x-msdownload", "--reject", "Programs may not be sent by mail."],
    ["--size-over", "20MB", "--prepend-subject", "[large] "],
    ["--from", "ceo@corp.example", "--apply-protection", "do-not-forward"],
    ["--sent-to", "competitor.example", "--reject", "Mail to this domain is not allowed."],
]


def add_rules():
    for i in range(20):
        cli("rule", "new", f"rule {i + 1:02}", *RULES[i % len(RULES)])
    # One that every message matches.
    cli("rule", "set", "rule 20", "--sent-to", "", "--reject", "", "--sent-to-scope", "internal",
        "--prepend-subject", "[bench] ")


def run(name, protected, label):
    """Sends every message (each run with its own header, so none is a
    repeat of an earlier transaction) and waits for all at the sink."""
    arrived.clear()
    accepted = {}
    messages = [(mid, dot_stuffed(f"X-Bench-Run: {label}\r\n".encode() + raw)) for mid, raw in protected]
    t0 = time.perf_counter()

    async def go():
        await send_all(messages, accepted)
        for _ in range(36000):
            if len(arrived) >= len(messages):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{name}: {len(arrived)} of {len(messages)} arrived")

    loop.run_until_complete(go())
    if not set(arrived) >= set(accepted):
        sys.exit(f"{name}: other mail than the messages arrived (a rule rejected them?)")
    elapsed = max(arrived.values()) - t0
    latencies = sorted((arrived[m] - accepted[m]) * 1000 for m in accepted if m in arrived)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return name, len(messages) / elapsed, statistics.median(latencies), p99


loop = asyncio.new_event_loop()
sink = loop.run_until_complete(asyncio.start_server(sink_session, "127.0.0.1", SINK))
try:
    start()
    # N protected messages of SIZE bytes (the protect command; once for all runs).
    filler = (b"The quarterly figures, line by line, for the benchmark.    " * 2)[:76] + b"\r\n"
    protected = []
    print(f"protecting {N} messages of {SIZE} bytes...", file=sys.stderr)
    for i in range(N):
        mid = f"<bench-{i}@corp.example>"
        plain = (f"From: alice@corp.example\r\nTo: carol@corp.example\r\nSubject: Figures {i}\r\n"
                 f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n").encode()
        plain += filler * (SIZE // len(filler))
        protected.append((mid, cli("protect", "--rights", "encrypt-only", stdin=plain)))
    results = []
    cli("irm-config", "set", "--transport-decryption", "disabled")
    results.append(run("no inspection", protected, 1))
    cli("irm-config", "set", "--transport-decryption", "optional")
    results.append(run("decryption only", protected, 2))
    add_rules()
    results.append(run("+ 20 rules", protected, 3))
    stop()
    clamd = start_clamd()
    start({"SEALPOST_CLAMD_ADDR": f"127.0.0.1:{CLAMD}"})
    try:
        results.append(run("+ clamd", protected, 4))
    finally:
        clamd.terminate()
        clamd.wait()
    stop()
finally:
    if server and server.poll() is None:
        server.kill()
    sink.close()
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0.1))
    loop.close()
    shutil.rmtree(WORK, ignore_errors=True)

print(f"\nWhole pipeline: {N} protected messages of {SIZE} bytes, 10 SMTP connections, SQLite, 250 to relay hand-off\n")
print("| set-up | messages/s | 250 to hand-off, median | p99 |")
print("|---|---:|---:|---:|")
for name, rate, p50, p99 in results:
    print(f"| {name} | {rate:,.0f} | {p50:,.0f} ms | {p99:,.0f} ms |")
base = results[0][1]
print("\n" + ", ".join(f"{name}: {rate / base:.2f}x" for name, rate, _, _ in results[1:]) + " of no inspection")
