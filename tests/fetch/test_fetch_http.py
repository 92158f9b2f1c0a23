"""HttpFetcher against the loopback fault server: every failure lands in its reason, as a row."""

from __future__ import annotations

import pickle
import socket
import threading
from urllib.parse import quote

import numpy as np
import pytest

from operators.base import DROP_REASON, DROP_STAGE, batch_to_rows, rows_to_batch
from operators.fetch.http import REASONS, HttpFetcher
from tests.fetch.server import JPEG, PNG


def fetch_one(fetcher: HttpFetcher, url: str):
    [result] = fetcher.fetch([url])
    assert result.status == "ok" or result.status in REASONS
    return result


def second_host(server) -> str:
    if len(server.hosts) < 2:
        pytest.skip("cannot bind 127.0.0.2 on this machine")
    return server.hosts[1]


# ----------------------------------------------------------------------------- rows in, rows out


def test_rows_get_bytes_status_and_drop_marks(fault_server, make_fetcher):
    rows = [
        {"url": fault_server.url("/ok.jpg")},
        {"url": fault_server.url("/ok.png")},
        {"url": fault_server.url("/status/404")},
        {"url": "not a url"},
    ]
    out = make_fetcher().run_rows(rows)
    assert [r["fetch_status"] for r in out] == ["ok", "ok", "http_404", "invalid_url"]
    assert [r["http_status"] for r in out] == [200, 200, 404, None]
    assert out[0]["image_bytes"] == JPEG and out[1]["image_bytes"] == PNG
    assert out[2]["image_bytes"] is None and out[3]["image_bytes"] is None
    assert [(r[DROP_STAGE], r[DROP_REASON]) for r in out] == [
        (None, None), (None, None), ("fetch", "http_404"), ("fetch", "invalid_url")]


def test_warc_rows_preset_bytes_and_dropped_rows_make_no_request(fault_server, make_fetcher):
    url = fault_server.url("/ok.jpg")
    rows = [
        {"url": url, "fetch_status": "warc", "image_bytes": b"from-warc"},
        {"url": url, "fetch_status": None, "image_bytes": b"already-here"},
        {"url": url, "drop_stage": "text", "drop_reason": "text_too_short"},
    ]
    out = make_fetcher().run_rows(rows)
    assert fault_server.count() == 0
    assert [r["image_bytes"] for r in out] == [b"from-warc", b"already-here", None]
    assert [r["fetch_status"] for r in out] == ["warc", None, None]
    assert [r[DROP_REASON] for r in out] == [None, None, "text_too_short"]


def test_identical_urls_in_a_batch_are_fetched_once(fault_server, make_fetcher):
    url = fault_server.url("/ok.jpg")
    out = make_fetcher().run_rows([{"url": url}, {"url": url}, {"url": url}])
    assert [r["fetch_status"] for r in out] == ["ok"] * 3
    assert fault_server.count("/ok.jpg") == 1


def test_numpy_batch_columns_are_created_as_objects(fault_server, make_fetcher):
    batch = {"url": np.array([fault_server.url("/ok.jpg"), fault_server.url("/status/410")], dtype=object)}
    out = make_fetcher()(batch)
    assert out["fetch_status"].tolist() == ["ok", "http_410"]
    assert out["http_status"].dtype == object and out["image_bytes"].dtype == object


def test_all_null_columns_as_ray_hands_them_over(fault_server, make_fetcher):
    # Ray turns an all-null column into float32 NaN; the outputs must come back as None / values
    nan = np.full(3, np.nan, dtype=np.float32)
    batch = {"url": np.array([fault_server.url("/ok.jpg"), fault_server.url("/status/404"), "x"], dtype=object),
             "image_bytes": nan.copy(), "fetch_status": nan.copy(), "http_status": nan.copy()}
    out = make_fetcher()(batch)
    assert out["fetch_status"].tolist() == ["ok", "http_404", "invalid_url"]
    assert out["http_status"].tolist() == [200, 404, None]
    assert out["image_bytes"].tolist() == [JPEG, None, None]


def test_disabled_fetch_drops_rows_without_bytes_and_sends_nothing(fault_server, make_fetcher):
    rows = [{"url": fault_server.url("/ok.jpg")}, {"url": "x", "fetch_status": "warc", "image_bytes": b"b"}]
    out = make_fetcher(enabled=False).run_rows(rows)
    assert [r[DROP_REASON] for r in out] == ["fetch_disabled", None]
    assert fault_server.count() == 0


def test_user_agent_and_accept_headers(fault_server, make_fetcher):
    fetcher = make_fetcher(user_agent="ccpairs/9.9 (+https://example.org/bot)")
    assert fetch_one(fetcher, fault_server.url("/ok.jpg")).status == "ok"
    [hit] = fault_server.hits
    assert hit.headers["user-agent"] == "ccpairs/9.9 (+https://example.org/bot)"
    assert hit.headers["accept"].startswith("image/")


def test_invalid_urls_never_reach_the_network(fault_server, make_fetcher):
    bad = [None, "", "   ", "ftp://example.com/a.jpg", "javascript:alert(1)", "/relative/only.jpg",
           "http://exa mple.com/a.jpg", "http://a.com:99999/x.jpg", "http:///x.jpg"]
    results = make_fetcher().fetch(bad)
    assert [r.status for r in results] == ["invalid_url"] * len(bad)


def test_picklable_after_use_and_the_copy_fetches(fault_server, make_fetcher):
    fetcher = make_fetcher()
    assert fetch_one(fetcher, fault_server.url("/ok.jpg")).status == "ok"
    clone = pickle.loads(pickle.dumps(fetcher))
    try:
        assert fetch_one(clone, fault_server.url("/ok.png")).body == PNG
    finally:
        clone.close()


# ----------------------------------------------------------------------------- HTTP failures


@pytest.mark.parametrize("code,reason", [(403, "http_403"), (404, "http_404"), (410, "http_410"),
                                         (400, "http_4xx"), (300, "http_3xx")])
def test_client_errors_are_not_retried(fault_server, make_fetcher, code, reason):
    result = fetch_one(make_fetcher(retries=2), fault_server.url(f"/status/{code}"))
    assert (result.status, result.http_status) == (reason, code)
    assert fault_server.count(f"/status/{code}") == 1


def test_server_error_retried_then_succeeds(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(retries=2), fault_server.url("/flaky?key=a&fails=1"))
    assert (result.status, result.body) == ("ok", JPEG)
    assert fault_server.count("/flaky") == 2


def test_server_error_after_all_retries(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(retries=2), fault_server.url("/flaky?key=b&fails=9"))
    assert (result.status, result.http_status) == ("http_5xx", 500)
    assert fault_server.count("/flaky") == 3


def test_429_waits_for_retry_after_then_succeeds(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(retries=1), fault_server.url("/rate-limited?key=a&retry_after=1"))
    assert result.status == "ok"
    first, second = fault_server.hits
    assert second.time - first.time >= 0.95  # came back no earlier than asked (1 s)


def test_429_asking_longer_than_the_cap_is_not_retried(fault_server, make_fetcher):
    fetcher = make_fetcher(retries=2, max_retry_after=0.5)
    result = fetch_one(fetcher, fault_server.url("/rate-limited?key=b&retry_after=60"))
    assert (result.status, result.http_status, result.retry_after) == ("http_429", 429, 60.0)
    assert fault_server.count("/rate-limited") == 1


def test_wrong_content_types_are_not_images(fault_server, make_fetcher):
    fetcher = make_fetcher()
    urls = [fault_server.url(p) for p in ("/wrong-type", "/html.jpg", "/no-type")]
    assert [r.status for r in fetcher.fetch(urls)] == ["not_image"] * 3


def test_extra_content_types_can_be_allowed(fault_server, make_fetcher):
    fetcher = make_fetcher(content_types=("image/", "text/plain"))
    assert fetch_one(fetcher, fault_server.url("/wrong-type")).body == JPEG


def test_empty_body(fault_server, make_fetcher):
    assert fetch_one(make_fetcher(), fault_server.url("/empty")).status == "empty_body"


def test_oversized_body_is_aborted_while_streaming(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(max_bytes=100_000), fault_server.url("/big?bytes=5000000"))
    assert result.status == "too_large" and result.body is None


def test_oversized_declared_length_rejected_before_reading(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(max_bytes=100_000), fault_server.url("/big-declared?bytes=1000000000"))
    assert result.status == "too_large"


def test_body_at_the_limit_is_kept(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(max_bytes=200_000), fault_server.url("/big?bytes=200000"))
    assert result.status == "ok" and len(result.body) == 200_000


def test_connection_reset_is_resent_once_then_reported(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(retries=2), fault_server.url("/reset"))
    assert result.status == "connection_reset"
    assert fault_server.count("/reset") == 2  # aiohttp's one resend of an idempotent request, no more


def test_truncated_body(fault_server, make_fetcher):
    assert fetch_one(make_fetcher(retries=0), fault_server.url("/truncated")).status == "truncated"


def test_refused_connection(make_fetcher):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    assert fetch_one(make_fetcher(), f"http://127.0.0.1:{port}/a.jpg").status == "connect_error"


# ----------------------------------------------------------------------------- timeouts


def test_server_that_never_answers_times_out_and_is_retried(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(read_timeout=0.2, retries=1), fault_server.url("/hang"))
    assert (result.status, result.http_status) == ("timeout", None)
    assert fault_server.count("/hang") == 2


def test_slow_but_steady_body_succeeds(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(), fault_server.url("/slow-body?chunks=4&interval=0.1"))
    assert (result.status, result.body) == ("ok", JPEG)


def test_stall_longer_than_read_timeout(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(read_timeout=0.2, retries=0), fault_server.url("/slow-body?chunks=2&interval=0.6"))
    assert result.status == "timeout"


def test_total_timeout_bounds_a_trickling_body(fault_server, make_fetcher):
    # every read arrives within read_timeout, but the whole body would take 3 s
    fetcher = make_fetcher(read_timeout=0.5, total_timeout=0.8, retries=2)
    result = fetch_one(fetcher, fault_server.url("/slow-body?chunks=15&interval=0.2"))
    assert result.status == "timeout"
    assert fault_server.count("/slow-body") == 1  # no time left for a retry


def test_time_queued_for_a_slot_does_not_count_against_total_timeout(fault_server, make_fetcher):
    # one slot, ten 0.2 s responses: the last starts about 1.8 s after it was submitted
    fetcher = make_fetcher(concurrency=1, total_timeout=1.5, read_timeout=1.4, retries=0)
    results = fetcher.fetch([fault_server.url(f"/ok.jpg?delay=0.2&v={i}") for i in range(10)])
    assert [r.status for r in results] == ["ok"] * 10


# ----------------------------------------------------------------------------- redirects


def test_redirect_chain_within_the_limit(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(max_redirects=3), fault_server.url("/redirect-chain?n=3"))
    assert (result.status, result.body) == ("ok", JPEG)


def test_redirect_chain_over_the_limit(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(max_redirects=2), fault_server.url("/redirect-chain?n=3"))
    assert (result.status, result.http_status) == ("too_many_redirects", 302)
    assert fault_server.count("/ok.jpg") == 0


def test_redirect_loop(fault_server, make_fetcher):
    result = fetch_one(make_fetcher(max_redirects=4), fault_server.url("/redirect-loop"))
    assert result.status == "too_many_redirects"
    assert fault_server.count("/redirect-loop") == 5


@pytest.mark.parametrize("target", ["", "ftp://example.com/a.jpg"])
def test_redirect_without_usable_location(fault_server, make_fetcher, target):
    path = "/redirect-no-location" if not target else f"/redirect?to={quote(target, safe='')}"
    assert fetch_one(make_fetcher(), fault_server.url(path)).status == "bad_redirect"


# ----------------------------------------------------------------------------- opt-outs


@pytest.mark.parametrize("tags,status", [
    (["noai"], "opted_out"),
    (["noimageindex, nofollow"], "opted_out"),
    (["none"], "opted_out"),
    (["ccpairs: noai"], "opted_out"),
    (["CCPairs: noimageai"], "opted_out"),
    (["otherbot: noai"], "ok"),
    (["otherbot: noindex", "nofollow"], "ok"),
    (["otherbot: noindex", "ccpairs: noindex"], "opted_out"),
    (["max-image-preview: none"], "ok"),
    (["nofollow, noarchive"], "ok"),
])
def test_x_robots_tag(fault_server, make_fetcher, tags, status):
    query = "&".join(f"tag={quote(t)}" for t in tags)
    assert fetch_one(make_fetcher(), fault_server.url(f"/robots?{query}")).status == status


def test_opt_outs_can_be_ignored(fault_server, make_fetcher):
    fetcher = make_fetcher(respect_opt_outs=False)
    assert fetch_one(fetcher, fault_server.url("/robots?tag=noai")).status == "ok"


# ----------------------------------------------------------------------------- SSRF guard


def test_guard_refuses_loopback_without_sending_anything(fault_server, make_fetcher):
    fetcher = make_fetcher(allow_private_networks=False)
    urls = [fault_server.url("/ok.jpg"), f"http://[::1]:{fault_server.port}/ok.jpg",
            f"http://0.0.0.0:{fault_server.port}/ok.jpg"]
    assert [r.status for r in fetcher.fetch(urls)] == ["blocked_address"] * 3
    assert fault_server.count() == 0


def test_legacy_numeric_ipv4_forms_do_not_slip_past_the_guard(fault_server, make_fetcher):
    fetcher = make_fetcher(allow_private_networks=False)
    port = fault_server.port
    urls = [f"http://2130706433:{port}/ok.jpg", f"http://0177.0.0.1:{port}/ok.jpg", f"http://127.1:{port}/ok.jpg",
            f"http://0x7f.0.0.1:{port}/ok.jpg"]
    assert {r.status for r in fetcher.fetch(urls)} <= {"invalid_url", "blocked_address"}
    assert fault_server.count() == 0


def test_guard_refuses_names_that_resolve_to_loopback(fault_server, make_fetcher):
    fetcher = make_fetcher(allow_private_networks=False)
    assert fetch_one(fetcher, f"http://localhost:{fault_server.port}/ok.jpg").status == "blocked_address"
    assert fault_server.count() == 0


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.jpg",
                                 "http://192.168.1.1/a.jpg", "http://224.0.0.1/a.jpg", "http://[fe80::1]/a.jpg",
                                 "http://[::ffff:127.0.0.1]/a.jpg", "http://100.64.0.1/a.jpg"])
def test_guard_refuses_private_literals(make_fetcher, url):
    assert fetch_one(make_fetcher(allow_private_networks=False), url).status == "blocked_address"


def test_guard_checks_every_redirect_hop(fault_server, make_fetcher):
    other = second_host(fault_server)
    fetcher = make_fetcher(allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    to_metadata = fault_server.url("/redirect?to=" + quote("http://169.254.169.254/latest/meta-data/", safe=""))
    to_other = fault_server.url("/redirect?to=" + quote(fault_server.url("/ok.jpg", host=other), safe=""))
    assert [r.status for r in fetcher.fetch([to_metadata, to_other])] == ["blocked_address"] * 2
    assert fault_server.count("/redirect") == 2
    assert fault_server.count(host=other) == 0
    # the allowed host itself still works with the guard on
    assert fetch_one(fetcher, fault_server.url("/ok.jpg")).status == "ok"


def test_invalid_tld_fails_without_resolving(fault_server, make_fetcher):
    asked = []

    async def spy(host, port, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "unknown")

    fetcher = make_fetcher(getaddrinfo=spy)
    results = fetcher.fetch(["http://images.invalid/a.jpg", "http://x.INVALID./b.jpg", "http://nowhere.test/c.jpg"])
    assert [r.status for r in results] == ["dns_error"] * 3
    assert asked == ["nowhere.test"]  # only the name that may exist was looked up


def fake_dns(table: dict[str, list[str]]):
    """An async getaddrinfo answering from `table` (name -> addresses)."""

    async def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in table[host]]

    return getaddrinfo


def test_connection_goes_to_the_checked_address(fault_server, make_fetcher):
    # images.example exists only in our fake DNS: a fetch that reaches the server proves aiohttp
    # connected to the address the guard checked (no second, unchecked lookup = no rebinding).
    dns = fake_dns({"images.example": ["127.0.0.1"], "mixed.example": ["10.0.0.5", "127.0.0.1"],
                    "internal.example": ["10.0.0.5", "169.254.169.254"]})
    fetcher = make_fetcher(getaddrinfo=dns, allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    port = fault_server.port
    results = fetcher.fetch([f"http://images.example:{port}/ok.jpg", f"http://mixed.example:{port}/ok.png",
                             f"http://internal.example:{port}/ok.jpg"])
    assert [r.status for r in results] == ["ok", "ok", "blocked_address"]
    assert sorted(h.headers["host"] for h in fault_server.hits) == [f"images.example:{port}", f"mixed.example:{port}"]


def test_guard_off_when_private_networks_allowed(fault_server, make_fetcher):
    dns = fake_dns({"intranet.example": ["127.0.0.1"]})
    fetcher = make_fetcher(getaddrinfo=dns, allow_private_networks=True)
    assert fetch_one(fetcher, f"http://intranet.example:{fault_server.port}/ok.jpg").status == "ok"


# ----------------------------------------------------------------------------- concurrency limits


def test_per_host_limit(fault_server, make_fetcher):
    fetcher = make_fetcher(concurrency=64, per_host_concurrency=3)
    urls = [fault_server.url(f"/ok.jpg?delay=0.3&v={i}") for i in range(9)]
    assert [r.status for r in fetcher.fetch(urls)] == ["ok"] * 9
    assert fault_server.peak_in_flight() == 3


def test_per_host_limit_is_per_host(fault_server, make_fetcher):
    other = second_host(fault_server)
    fetcher = make_fetcher(concurrency=64, per_host_concurrency=2)
    urls = [fault_server.url(f"/ok.jpg?delay=0.3&v={i}", host=h) for i in range(4) for h in fault_server.hosts]
    assert [r.status for r in fetcher.fetch(urls)] == ["ok"] * 8
    assert fault_server.peak_in_flight(fault_server.hosts[0]) == 2
    assert fault_server.peak_in_flight(other) == 2
    assert fault_server.peak_in_flight() == 4


def test_global_limit_is_shared_by_concurrent_batches(fault_server, make_fetcher):
    other = second_host(fault_server)
    fetcher = make_fetcher(concurrency=3, per_host_concurrency=8)

    def run(host: str, out: list) -> None:
        out.extend(r.status for r in fetcher.fetch([fault_server.url(f"/ok.jpg?delay=0.3&v={i}", host=host)
                                                     for i in range(5)]))

    statuses: list[str] = []
    threads = [threading.Thread(target=run, args=(h, statuses)) for h in (fault_server.hosts[0], other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == ["ok"] * 10
    assert fault_server.peak_in_flight() == 3


def test_every_reason_is_in_the_vocabulary(fault_server, make_fetcher):
    paths = ["/ok.jpg", "/status/404", "/status/503", "/reset", "/wrong-type", "/robots?tag=noai", "/redirect-loop"]
    rows = batch_to_rows(make_fetcher(retries=0)(rows_to_batch([{"url": fault_server.url(p)} for p in paths])))
    reasons = [r[DROP_REASON] for r in rows]
    assert reasons == [None, "http_404", "http_5xx", "connection_reset", "not_image", "opted_out", "too_many_redirects"]
    assert set(reasons[1:]) <= set(REASONS)
