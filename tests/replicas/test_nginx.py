"""The documented nginx configuration (docs/nginx/playground.conf, shown in docs/OPERATIONS.md)
in front of the two replicas, for real: TLS, sticky sessions, the queue's event stream.

Skipped where nginx or openssl is not installed (`.ci/run` installs nginx).
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from gradio_client import Client

from feedback_db.frames import ratings_frame
from tests.launch import free_port
from tests.replicas.test_replicas import IMAGE_ARGS

pytestmark = pytest.mark.real_model
REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "docs" / "nginx" / "playground.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
CLIENTS = 4
# The test's own access log: which replica answered each request of which browser.
TEST_LOG = "log_format sticky '$cookie_playground_client $upstream_addr $status $request_uri';"


def test_the_operations_guide_shows_the_tested_config():
    guide = (REPO / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    shown = re.search(r"```nginx\n(.*?)```", guide, re.S)
    assert shown is not None and shown.group(1) == CONFIG.read_text(encoding="utf-8")


def render(config: str, replicas, https_port: int, http_port: int, certs: Path) -> str:
    """The documented config with this machine's addresses, ports and certificate."""
    servers = "\n".join(f"    server 127.0.0.1:{r.port} max_fails=3 fail_timeout=10s;" for r in replicas)
    config = re.sub(r"(    server 10\.0\.0\.\d+:7860 [^\n]*\n)+", servers + "\n", config)
    config = config.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    config = config.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    config = config.replace("/etc/ssl/playground/", f"{certs}/")
    assert config.count("127.0.0.1:") == len(replicas) + 2, config
    return config


@pytest.fixture(scope="module")
def proxy(replicas, tmp_path_factory):
    if NGINX is None or shutil.which("openssl") is None:
        pytest.skip("needs nginx and openssl (apt-get install -y nginx)")
    root = tmp_path_factory.mktemp("nginx")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(root / "privkey.pem"),
            "-out",
            str(root / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    https_port, http_port = free_port(), free_port()
    (root / "playground.conf").write_text(render(CONFIG.read_text(encoding="utf-8"), replicas, https_port, http_port, root))
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(f"{kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(
        f"{user}pid {root / 'nginx.pid'};\nerror_log {root / 'error.log'};\nevents {{}}\n"
        f"http {{\n{TEST_LOG}\naccess_log {root / 'access.log'} sticky;\n{temp}\n"
        f"include {root / 'playground.conf'};\n}}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-c", str(root / "nginx.conf"), "-p", str(root), "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"https://127.0.0.1:{https_port}/"
    for _ in range(100):
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {process.stdout.read().decode()}")
        try:
            with urllib.request.urlopen(url, timeout=5, context=ssl._create_unverified_context()):
                break
        except OSError:
            time.sleep(0.1)
    yield url, root / "access.log"
    process.terminate()
    process.wait(timeout=10)


def test_requests_and_ratings_go_through_nginx_to_one_replica_per_browser(proxy, shared_database):
    url, access_log = proxy
    with shared_database.read_sessions() as session:
        before = len(ratings_frame(session))
    # 1. Browsers generate and rate through the proxy. A rating finds the candidates in the page
    #    state of the replica that generated them: it is refused ("generate first") if the
    #    proxy sent it to another replica.
    for number in range(CLIENTS):
        browser = Client(url, verbose=False, ssl_verify=False)
        browser.predict(*IMAGE_ARGS, api_name="/generate_image")
        answer = browser.predict(0, 4, 3, 1, f"through nginx {number}", api_name="/rate_image")
        assert answer.startswith("Saved naturalness 4"), answer
    with shared_database.read_sessions() as session:
        ratings = ratings_frame(session)
    assert len(ratings) == before + CLIENTS
    assert sorted(c for c in ratings["comment"] if c.startswith("through nginx")) == [f"through nginx {n}" for n in range(CLIENTS)]
    # 2. The access log: every browser's requests went to a single replica.
    replicas_of = defaultdict(set)
    for line in access_log.read_text().splitlines():
        cookie, upstream, *_ = line.split(" ")
        if cookie != "-" and upstream != "-":
            replicas_of[cookie].add(upstream)
    assert len(replicas_of) >= CLIENTS
    assert all(len(upstreams) == 1 for upstreams in replicas_of.values()), dict(replicas_of)


def test_the_identity_cookie_is_secure_behind_tls(proxy):
    """The replicas believe nginx's X-Forwarded-Proto: PLAYGROUND_TRUST_FORWARDED_FOR=true, and nginx
    connects from loopback (the default PLAYGROUND_FORWARDED_ALLOW_IPS). PLAYGROUND_SECURE_COOKIE=true
    makes the cookie Secure whatever the proxy says."""
    url, _ = proxy
    with urllib.request.urlopen(url, timeout=10, context=ssl._create_unverified_context()) as response:
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("playground_client=") and "Secure" in cookie and "HttpOnly" in cookie
