#!/usr/bin/env python3
"""The fault suite, long form (issue #17): release build, real processes,
minutes per case. Each case runs SMTP load into `sealpost serve`, breaks
something, repairs it, waits for the relay (a sink of this script's own) to
have everything, and counts per Message-ID: acknowledged (heard 250),
delivered, duplicated (delivered more than once), lost (acknowledged, never
delivered). The CI-sized cases are `server/tests/it/faults.rs`.

    bench/faults.sh [case ...]     cases: kill9 postgres disk relay nodes
    RELAY_AWAY=300 RATE=10 DUP_WAIT=130 (seconds; messages/s per sender; seconds)

Needs root (tmpfs, pg_ctlcluster) and the machine's PostgreSQL.
"""
import asyncio
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

BIN = sys.argv[1]
CASES = sys.argv[2:] or ["kill9", "postgres", "disk", "relay", "nodes"]
RELAY_AWAY = int(os.environ.get("RELAY_AWAY", "300"))
# A second copy can only come after a lease runs out (pipeline 60 s,
# outbound 120 s in a release build): wait that long before counting.
DUP_WAIT = int(os.environ.get("DUP_WAIT", "130"))
PG_ADMIN = os.environ.get("SEALPOST_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SIZE = 4096
# Messages per second per sender: a steady load the outbound queue drains in
# minutes once a fault is repaired (a release build takes ~1,000/s at the
# intake, and delivery is slower: unthrottled, one case queues 100,000s).
RATE = float(os.environ.get("RATE", "10"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """A relay that keeps the Message-ID of everything handed to it; it can
    go away (connections refused) and come back."""

    def __init__(self):
        self.port = free_port()
        self.ids = []
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.server = None
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.up()

    async def _session(self, reader, writer):
        writer.write(b"220 sink\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                cmd = line[:4].upper()
                if cmd == b"DATA":
                    writer.write(b"354 go\r\n")
                    data = []
                    while True:
                        l = await reader.readline()
                        if not l or l in (b".\r\n", b".\n"):
                            break
                        data.append(l)
                    m = re.search(rb"(?im)^message-id:\s*<([^>]*)>", b"".join(data))
                    with self.lock:
                        self.ids.append(m.group(1).decode() if m else None)
                    writer.write(b"250 queued\r\n")
                elif cmd == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    return
                elif cmd == b"EHLO":
                    writer.write(b"250-sink\r\n250 8BITMIME\r\n")
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            pass  # the node was killed mid-delivery: that mail is sent again
        finally:
            writer.close()

    def up(self):
        async def start():
            self.server = await asyncio.start_server(self._session, "127.0.0.1", self.port, reuse_address=True)
        asyncio.run_coroutine_threadsafe(start(), self.loop).result()

    def down(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result()

    def counts(self):
        with self.lock:
            out = {}
            for i in self.ids:
                out[i] = out.get(i, 0) + 1
            return out


class Node:
    def __init__(self, data_dir, db_url, relay_port, extra=None):
        self.smtp, self.http = free_port(), free_port()
        self.env = {
            "PATH": os.environ["PATH"],
            "SEALPOST_DATA_DIR": data_dir,
            "SEALPOST_DATABASE_URL": db_url,
            "SEALPOST_HTTP_ADDR": f"127.0.0.1:{self.http}",
            "SEALPOST_SMTP_ADDR": f"127.0.0.1:{self.smtp}",
            "SEALPOST_RELAY_URL": f"smtp://127.0.0.1:{relay_port}",
            "SEALPOST_INTERNAL_DOMAINS": "corp.example",
            "RUST_LOG": "warn",
            **(extra or {}),
        }
        self.log = open(os.path.join(tempfile.gettempdir(), f"sealpost-faults-{self.smtp}.log"), "ab")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)
        for _ in range(600):
            try:
                with socket.create_connection(("127.0.0.1", self.smtp), timeout=1) as s:
                    if s.recv(3) == b"220":
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("sealpost serve did not start")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    def health(self):
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.http}/healthz", timeout=5).status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None


class Load:
    """`senders` SMTP clients sending without pause to whichever node the
    `target` function names; what heard 250 is acknowledged."""

    def __init__(self, target, senders):
        self.target, self.stop_flag = target, threading.Event()
        self.acknowledged, self.replies = [], {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(s,), daemon=True) for s in range(senders)]
        for t in self.threads:
            t.start()

    def note(self, reply):
        with self.lock:
            self.replies[reply] = self.replies.get(reply, 0) + 1

    def run(self, s):
        body = "x" * 76 + "\r\n"
        while not self.stop_flag.is_set():
            try:
                client = smtplib.SMTP("127.0.0.1", self.target(), timeout=60)
                client.ehlo("faults.example")
            except (OSError, smtplib.SMTPException):
                time.sleep(0.1)
                continue
            try:
                while not self.stop_flag.is_set():
                    mid = f"{uuid.uuid4()}@corp.example"
                    msg = (f"Message-ID: <{mid}>\r\nFrom: alice@corp.example\r\nTo: bob@outside.example\r\n"
                           f"Subject: fault {s}\r\n\r\n" + body * (SIZE // len(body)))
                    time.sleep(1 / RATE)
                    try:
                        client.sendmail("alice@corp.example", ["bob@outside.example"], msg)
                        with self.lock:
                            self.acknowledged.append(mid)
                        self.note("250")
                    except smtplib.SMTPResponseException as e:
                        self.note(f"{e.smtp_code} {e.smtp_error.decode(errors='replace')[:40]}")
                        client.rset()
                    except smtplib.SMTPRecipientsRefused as e:
                        self.note("recipient refused")
                        client.rset()
            except (OSError, smtplib.SMTPException):
                pass
            finally:
                try:
                    client.close()
                except Exception:
                    pass

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()


def settle(sink, acknowledged, timeout=900):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = sink.counts()
        if all(m in got for m in acknowledged):
            break
        time.sleep(1)
    time.sleep(DUP_WAIT)  # a second copy, if any, arrives meanwhile
    got = sink.counts()
    delivered = sum(1 for m in acknowledged if m in got)
    duplicated = sum(1 for m in acknowledged if got.get(m, 0) > 1)
    return delivered, duplicated, len(acknowledged) - delivered


def pg_database():
    name = f"sealpost_faults_{uuid.uuid4().hex}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_drop(name):
    subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def pg_cluster():
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout.split()
    return out[0], out[1]


def case_kill9(sink):
    work = tempfile.mkdtemp()
    node = Node(work, f"sqlite://{work}/sealpost.db", sink.port)
    load = Load(lambda: node.smtp, 8)
    for _ in range(3):
        time.sleep(10)
        node.kill9()
        node.start()
    time.sleep(10)
    load.stop()
    result = settle(sink, load.acknowledged)
    node.stop()
    shutil.rmtree(work)
    return "kill -9 x3 under 8 senders (SQLite)", load, result


def case_postgres(sink):
    name, url = pg_database()
    work = tempfile.mkdtemp()
    node = Node(work, url, sink.port)
    load = Load(lambda: node.smtp, 6)
    time.sleep(10)
    version, cluster = pg_cluster()
    try:
        subprocess.run(["pg_ctlcluster", version, cluster, "stop", "-m", "fast"], check=True)
        time.sleep(3)
        away = node.health()
        time.sleep(7)
    finally:
        subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True)
    time.sleep(15)
    load.stop()
    result = settle(sink, load.acknowledged)
    node.stop()
    shutil.rmtree(work)
    pg_drop(name)
    load.note(f"/healthz while away: {away}")
    return "PostgreSQL stopped 10 s under 6 senders", load, result


def case_disk(sink):
    work = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", work], check=True)
    node = None
    try:
        node = Node(work, f"sqlite://{work}/sealpost.db", sink.port)
        load = Load(lambda: node.smtp, 8)
        ballast = os.path.join(work, "ballast")
        with open(ballast, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        time.sleep(20)
        os.remove(ballast)
        time.sleep(10)
        load.stop()
        result = settle(sink, load.acknowledged)
        node.stop()
        check = subprocess.run(["python3", "-c", f"import sqlite3; print(sqlite3.connect('{work}/sealpost.db').execute('PRAGMA integrity_check').fetchone()[0])"],
                               capture_output=True, text=True).stdout.strip()
        load.note(f"integrity_check: {check}")
    finally:
        if node:
            node.stop()
        subprocess.run(["umount", "-l", work])
        shutil.rmtree(work, ignore_errors=True)
    return "data directory on a 40 MB tmpfs that fills up", load, result


def case_relay(sink):
    work = tempfile.mkdtemp()
    node = Node(work, f"sqlite://{work}/sealpost.db", sink.port)
    sink.down()
    load = Load(lambda: node.smtp, 4)
    time.sleep(RELAY_AWAY)
    listed = subprocess.run([BIN, "queue", "list", "--kind", "outbound", "--json"], env=node.env,
                            capture_output=True, text=True).stdout
    sink.up()
    subprocess.run([BIN, "queue", "retry", "--all"], env=node.env, capture_output=True)
    time.sleep(5)
    load.stop()
    result = settle(sink, load.acknowledged)
    node.stop()
    shutil.rmtree(work)
    jobs = listed.count('"Id"')
    load.note(f"queue list while away: {jobs} jobs")
    return f"relay away {RELAY_AWAY} s under 4 senders", load, result


def case_nodes(sink):
    name, url = pg_database()
    work = tempfile.mkdtemp()
    # Two nodes of one organization: one database, one root key file.
    a = Node(work, url, sink.port)
    b = Node(work, url, sink.port)
    turn = [0]

    def target():
        turn[0] += 1
        return (a.smtp, b.smtp)[turn[0] % 2] if a.proc.poll() is None else b.smtp

    load = Load(target, 8)
    time.sleep(15)
    a.kill9()
    time.sleep(15)
    load.stop()
    result = settle(sink, load.acknowledged)
    b.stop()
    shutil.rmtree(work)
    pg_drop(name)
    return "two nodes on one PostgreSQL, one killed -9", load, result


def main():
    rows = []
    for case in CASES:
        sink = Sink()
        title, load, (delivered, duplicated, lost) = globals()[f"case_{case}"](sink)
        rows.append((title, len(load.acknowledged), delivered, duplicated, lost,
                     ", ".join(f"{k}: {v}" for k, v in sorted(load.replies.items()) if k != "250")))
        print(f"done: {title}", file=sys.stderr)
    print("| fault | acknowledged | delivered | duplicated | lost | other replies and notes |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    sys.exit(1 if any(r[4] for r in rows) else 0)


main()
