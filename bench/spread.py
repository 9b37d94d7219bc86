"""
spread.py - the time from a revocation on host A to refusal on host B, two
tokencat doors of one lighttpd on one PostgreSQL database (bench/run.sh,
part 6). Each try: a token created on A and allowed by GET /auth/check on
B, DELETE /tokens/{id} on A, then /auth/check on B again and again until
it answers 401; the time is from A's answer to B's refusal
(time.monotonic). Prints one line: tries, median, max, and how many polls
the slowest needed.

    python3 spread.py URL_A URL_B SESSION [TRIES]
"""

import http.client
import json
import statistics
import sys
import time
import urllib.parse


def request(url, method, path, token, body=None, headers=None):
    """(status, parsed JSON body or None) of one request on a new
    connection to url (http://host:port/prefix)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    hdrs = {"Authorization": "Bearer " + token}
    hdrs.update(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, u.path + path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    return resp.status, (json.loads(raw) if raw else None)


def check(url, tok):
    return request(url, "GET", "/auth/check", tok, headers={
        "X-Original-URI": "/tools/x", "X-Original-Method": "GET"})[0]


def main(argv):
    url_a, url_b, session = argv[:3]
    tries = int(argv[3]) if len(argv) > 3 else 50
    delays, polls = [], []
    for i in range(tries):
        st, out = request(url_a, "POST", "/tokens", session, body={
            "name": "spread-%d-%d" % (time.time_ns(), i),
            "expires_in_days": 1})
        if st != 201:
            raise SystemExit("create on A: %d %r" % (st, out))
        tok, tid = out["access_token"], out["token"]["id"]
        st = check(url_b, tok)
        if st != 200:
            raise SystemExit("check on B before the revocation: %d" % st)
        st, out = request(url_a, "DELETE", "/tokens/" + tid, session)
        acked = time.monotonic()
        if st != 204:
            raise SystemExit("revocation on A: %d %r" % (st, out))
        n = 0
        while True:
            n += 1
            st = check(url_b, tok)
            if st == 401:
                break
            if st != 200 or time.monotonic() - acked > 10:
                raise SystemExit("check on B after the revocation: %d" % st)
        delays.append(time.monotonic() - acked)
        polls.append(n)
    print("%d tries: median %.2f ms, max %.2f ms (polls of B until "
          "refused: max %d)" % (tries, statistics.median(delays) * 1000,
                                max(delays) * 1000, max(polls)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
