#!/usr/bin/env python3
"""The crowd of bench/slow_clients.sh: trickling downloads and uploads against a running server.

Opens DOWNLOADS downloads (half through the API, half WebDAV GETs) and UPLOADS uploads (half
WebDAV PUTs, half API multipart POSTs) of the users in users.json, arriving within 3 s, each from
its own X-Forwarded-For address (as behind Caddy); reads or sends RATE bytes per second for HOLD
seconds; then prints one JSON object: per kind, how many were held to the end, cut by the server,
refused with 503 (with or without Retry-After) or answered otherwise.
"""
import argparse
import asyncio
import base64
import json
import socket
import time

BIG = 16 << 20


def basic(name, password):
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


async def read_head(reader, limit):
    data = b""
    end = time.monotonic() + limit
    while b"\r\n\r\n" not in data:
        left = end - time.monotonic()
        if left <= 0:
            return None, "hang"
        try:
            chunk = await asyncio.wait_for(reader.read(4096), left)
        except asyncio.TimeoutError:
            return None, "hang"
        except OSError:
            return None, "closed"
        if not chunk:
            return None, "closed"
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    return int(head.split()[1]), head


async def download(host, port, head, rate, hold):
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    writer.write(head.encode())
    await writer.drain()
    status, h = await read_head(reader, 20)
    try:
        if status is None:
            return "no-answer-" + h
        if status == 503:
            return "refused" if "retry-after:" in h else "503-without-retry-after"
        if status != 200:
            return f"status-{status}"
        end = time.monotonic() + hold
        step = max(rate // 4, 1)
        while time.monotonic() < end:
            await asyncio.sleep(0.25)
            got = 0
            while got < step:
                left = end - time.monotonic()
                if left <= 0:
                    return "held"
                try:
                    chunk = await asyncio.wait_for(reader.read(step - got), left)
                except asyncio.TimeoutError:
                    return "held"
                except OSError:
                    return "cut"
                if not chunk:
                    return "cut"
                got += len(chunk)
        return "held"
    finally:
        writer.close()


async def upload(host, port, head, rate, hold):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head.encode())
    await writer.drain()
    begun = time.monotonic()
    end = begun + hold
    chunk = b"u" * max(rate // 4, 1)
    answer = asyncio.ensure_future(read_head(reader, hold + 30))
    try:
        while time.monotonic() < end:
            done, _ = await asyncio.wait({answer}, timeout=0.25)
            if done:
                status, h = answer.result()
                if status == 503:
                    return "refused" if "retry-after:" in h else "503-without-retry-after"
                if status is None and h == "closed" or time.monotonic() - begun > 5:
                    return "cut"  # the server gave up on the body (minimum rate)
                return f"status-{status}"
            try:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), max(end - time.monotonic(), 0.01))
            except asyncio.TimeoutError:
                return "held"
            except OSError:
                return "cut"
        return "held"
    finally:
        answer.cancel()
        writer.close()


def request_head(i, user, host, port, password, upload_kind):
    name, token, file_id = user["name"], user["token"], user["file_id"]
    xff = f"X-Forwarded-For: 10.{i // 65536}.{(i // 256) % 256}.{i % 256}\r\n"
    h = f"Host: {host}:{port}\r\n"
    if upload_kind is None:
        if i % 2 == 0:
            return f"GET /api/files/{file_id}/download HTTP/1.1\r\n{h}Authorization: Bearer {token}\r\n{xff}\r\n"
        return f"GET /dav/files/{name}/big.bin HTTP/1.1\r\n{h}Authorization: {basic(name, password)}\r\n{xff}\r\n"
    if upload_kind == "dav":
        return (f"PUT /dav/files/{name}/up{i}.bin HTTP/1.1\r\n{h}Authorization: {basic(name, password)}\r\n"
                f"Content-Length: {BIG}\r\n{xff}\r\n")
    part = (f"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up{i}.bin\"\r\n\r\n")
    return (f"POST /api/files/upload HTTP/1.1\r\n{h}Authorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: {BIG + 200}\r\n{xff}\r\n{part}")


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", required=True, help="users.json: [{name, token, file_id}]")
    p.add_argument("--password", required=True)
    p.add_argument("--rate", type=int, default=1024)
    p.add_argument("--hold", type=float, default=60)
    p.add_argument("--downloads", type=int, default=1000)
    p.add_argument("--uploads", type=int, default=200)
    a = p.parse_args()
    users = json.load(open(a.users))
    total = a.downloads + a.uploads
    every = total // max(a.uploads, 1) if a.uploads else total + 1
    tasks = []

    async def one(i, kind, head):
        await asyncio.sleep(3.0 * i / total)
        try:
            if kind == "download":
                return kind, await download(a.host, a.port, head, a.rate, a.hold)
            return kind, await upload(a.host, a.port, head, a.rate, a.hold)
        except OSError as e:
            return kind, f"error-{type(e).__name__}"

    uploads = 0
    for i in range(total):
        user = users[i % len(users)]
        is_upload = uploads < a.uploads and i % every == every - 1
        if is_upload:
            uploads += 1
            kind_up = "dav" if uploads % 2 == 0 else "api"
            tasks.append(one(i, "upload", request_head(i, user, a.host, a.port, a.password, kind_up)))
        else:
            tasks.append(one(i, "download", request_head(i, user, a.host, a.port, a.password, None)))
    results = await asyncio.gather(*tasks)
    out = {}
    for kind, outcome in results:
        out.setdefault(kind, {}).setdefault(outcome, 0)
        out[kind][outcome] += 1
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
