"""X-Forwarded-For is believed only from the proxies `EXAMVAULT_FORWARDED_ALLOW_IPS` names.

A real `examvault serve` (uvicorn applies the setting) with a per-address limit of three
requests: the requests all come from 127.0.0.1 and carry X-Forwarded-For. When 127.0.0.1
is a trusted proxy the limiter counts each forwarded address on its own; when the setting
is empty (the default) the header is ignored and every request counts against 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from examvault.loadtest.server import ServerProcess

pytestmark = pytest.mark.slow

LIMITED = {
    "EXAMVAULT_ADDRESS_RATE_LIMIT": "true",
    "EXAMVAULT_ADDRESS_RATE_BURST": "3",
    # one more request every 1000 s: nothing refills while the test runs
    "EXAMVAULT_ADDRESS_RATE_PER_SECOND": "0.001",
}


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "nobody-trusted"])
def test_the_address_limit_keys_on_the_forwarded_address_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: bool
) -> None:
    env = LIMITED | ({"EXAMVAULT_FORWARDED_ALLOW_IPS": "127.0.0.1"} if trusted else {})
    server = ServerProcess("examvault", f"sqlite:///{tmp_path / 'ev.db'}", tmp_path, env)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:

            def me(forwarded: str | None) -> int:
                headers = {"X-Forwarded-For": forwarded} if forwarded else {}
                return client.get("/api/v1/me", headers=headers).status_code

            # no token: 401 while the address has budget, 429 once it is spent
            assert [me("198.51.100.7") for _ in range(4)] == [401, 401, 401, 429]
            other, none = me("198.51.100.8"), me(None)
        if trusted:
            assert (other, none) == (401, 401), "each forwarded address has its own budget"
        else:
            assert (other, none) == (429, 429), "the header is ignored: all is 127.0.0.1"
    finally:
        server.stop()
