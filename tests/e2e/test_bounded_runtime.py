"""Issue 11 on the lab: a full tmpfs fails writes with ENOSPC (no OOM kill, the service stays
healthy), logs are rotated by the engine, and the go runtime on scratch makes a verified TLS
call with its CA bundle and reads the time zone database.

The stack is a generated project started by `docker compose up`, so the tmpfs sizes, memory
limits and logging options are exactly the generated compose file's.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import unique

from scaffold.templatesets.loader import load_template_set

pytestmark = pytest.mark.e2e

# One service per kind of writer: nginx on scratch (only curl can write), an interpreter
# (python), a shell (postgres), and the go binary alone.
LAYOUT = [("react", "web"), ("fastapi", "api"), ("go", "gosvc"), ("postgres", "db")]


@pytest.fixture(scope="module")
def stack(make_project) -> Any:
    project = make_project("bounds", LAYOUT)
    try:
        project.up(build=True)
        yield project
    finally:
        project.down(volumes=True)


def state(lab, container: str) -> dict[str, Any]:
    return lab.inspect(container)[0]["State"]


def wait_healthy(lab, container: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = state(lab, container)
        if current.get("Health", {}).get("Status") == "healthy" or time.monotonic() > deadline:
            return current
        time.sleep(1)


def fill_command(names: set[str], path: str) -> list[str]:
    """A command run as the service's own user that writes zeros into `path` until the write
    fails, with the program the image has: python, else a shell, else curl (nginx on scratch)."""
    pythons = sorted(
        n for n in names if "/bin/" in f"/{n}" and n.rsplit("/", 1)[-1] in ("python3", "python")
    )
    if pythons:
        script = (
            "import sys\n"
            "try:\n"
            f"    with open({path!r}, 'wb') as f:\n"
            "        while True:\n"
            "            f.write(bytes(1 << 20)); f.flush()\n"
            "except OSError as e:\n"
            "    print(e, file=sys.stderr); sys.exit(1)\n"
        )
        return ["/" + pythons[0], "-c", script]
    if {"bin/sh", "usr/bin/sh"} & names:
        return ["sh", "-c", f"cat /dev/zero > {path}"]
    if "usr/bin/curl" in names:
        # file:// of an endless device: curl writes until the write fails (exit 23).
        return ["/usr/bin/curl", "-sS", "-o", path, "file:///dev/zero"]
    raise AssertionError("no program in the image to write with")


@pytest.mark.parametrize("service", ["web", "api", "db"])
def test_a_full_tmp_fails_with_enospc_and_the_service_stays_healthy(lab, stack, service):
    container = stack.container(service)
    assert wait_healthy(lab, container)["Health"]["Status"] == "healthy"
    host = lab.inspect(container)[0]["HostConfig"]
    assert "size=" in host["Tmpfs"]["/tmp"], host["Tmpfs"]
    image = lab.inspect(container)[0]["Config"]["Image"]
    names = set(lab.names_in_image(image))
    proc = lab.docker(
        "exec", container, *fill_command(names, "/tmp/fill"), check=False, timeout=120
    )
    assert proc.returncode != 0, "the write never failed: /tmp is unbounded"
    if "curl" in " ".join(fill_command(names, "/tmp/fill")):
        assert proc.returncode == 23, proc  # CURLE_WRITE_ERROR: the tmpfs is full
    else:
        output = proc.stdout + proc.stderr
        assert "No space left on device" in output, output
    after = state(lab, container)
    assert after["OOMKilled"] is False and after["Running"] is True, after
    assert lab.inspect(container)[0]["RestartCount"] == 0
    # still healthy with its /tmp full (the next healthchecks ran after the fill)
    time.sleep(12)
    assert wait_healthy(lab, container)["Health"]["Status"] == "healthy"


def test_the_engine_rotates_every_services_logs(lab, stack):
    tset = load_template_set("default")
    assert tset.manifest.logging is not None
    for _kind, service in LAYOUT:
        config = lab.inspect(stack.container(service))[0]["HostConfig"]["LogConfig"]
        assert config["Type"] == tset.manifest.logging.driver
        assert config["Config"] == tset.manifest.logging.options
    # the rotated logs are still read by `docker compose logs`
    logs = stack.compose("logs", "--no-color", "db", timeout=60).stdout
    assert "database system is ready to accept connections" in logs


PROBE = """\
package main

// Run on the generated go runtime image: what a user's outbound HTTPS call and time zone code
// see there. Exit 0 only when both work.
import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	pool, err := x509.SystemCertPool()
	if err != nil {
		fmt.Println("system pool:", err)
		os.Exit(1)
	}
	fmt.Println("system pool subjects:", len(pool.Subjects())) //nolint:staticcheck
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		fmt.Println("zoneinfo:", err)
		os.Exit(1)
	}
	fmt.Println("zone:", time.Date(2026, 7, 1, 12, 0, 0, 0, loc).Format("MST"))
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(os.Args[1])
	if err != nil {
		fmt.Println("https:", err)
		os.Exit(2)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("https: %d %s\\n", resp.StatusCode, body)
}
"""

SERVER = """\
import http.server, ssl
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"tls-ok")
httpd = http.server.HTTPServer(("0.0.0.0", 8443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("/srv/server.crt", "/srv/server.key")
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(where: Path) -> None:
    """A lab CA (never trusted anywhere else) and a server certificate for `tls-server`."""
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lab test CA",
        "-keyout", "ca.key", "-out", "ca.crt", cwd=where,
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=tls-server",
        "-keyout", "server.key", "-out", "server.csr", cwd=where,
    )  # fmt: skip
    (where / "ext.cnf").write_text("subjectAltName=DNS:tls-server\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.crt", cwd=where,
    )  # fmt: skip


def test_the_go_runtime_makes_a_verified_tls_call_and_reads_zoneinfo(lab, stack, tmp_path):
    """A TLS handshake from the go runtime image, verified against its CA bundle.

    No registry or internet here, so the server's CA can't be a public one: the test image is
    the generated go image with the lab CA appended to the bundle it ships (what a team with an
    internal CA does), and the probe (built with the go kind's build image) calls a local HTTPS
    server on a network of its own. The control run points Go at no bundle
    (SSL_CERT_FILE/SSL_CERT_DIR) and must fail verification: the bundle is what is trusted.
    """
    tset = load_template_set("default")
    go_image = stack.image("gosvc")
    build_image = tset.kinds["go"].images["build"]
    python_image = tset.kinds["fastapi"].images["build"]
    names = lab.names_in_image(go_image)
    assert "etc/ssl/certs/ca-certificates.crt" in names
    assert "usr/share/zoneinfo/Europe/Berlin" in names

    make_pki(tmp_path)
    (tmp_path / "probe.go").write_text(PROBE)
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {build_image} AS probe\n"
        "WORKDIR /src\n"
        "COPY probe.go .\n"
        "RUN CGO_ENABLED=0 go build -o /probe probe.go\n"
        f"FROM {build_image} AS bundle\n"
        f"COPY --from={go_image} /etc/ssl/certs/ca-certificates.crt /bundle.crt\n"
        "COPY ca.crt /ca.crt\n"
        "RUN cat /bundle.crt /ca.crt > /combined.crt\n"
        f"FROM {python_image} AS server\n"
        "COPY server.py server.crt server.key /srv/\n"
        'CMD ["python3", "/srv/server.py"]\n'
        f"FROM {go_image} AS client\n"
        "COPY --from=bundle /combined.crt /etc/ssl/certs/ca-certificates.crt\n"
        "COPY --from=probe /probe /probe\n"
        'ENTRYPOINT ["/probe"]\n'
    )
    tag = unique("tlsprobe")
    network = unique("tlsnet")
    lab.build(tmp_path, f"{tag}-server", "--target", "server")
    lab.build(tmp_path, f"{tag}-client", "--target", "client")
    lab.docker("network", "create", network, timeout=60)
    server = f"{tag}-server"
    try:
        lab.docker(
            "run", "--detach", "--name", server, "--network", network,
            "--network-alias", "tls-server", f"{tag}-server", timeout=120,
        )  # fmt: skip
        hardened = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        run = ["run", "--rm", "--network", network, *hardened]
        url = "https://tls-server:8443/"
        deadline = time.monotonic() + 30
        while True:
            ok = lab.docker(*run, f"{tag}-client", url, check=False, timeout=120)
            if ok.returncode != 2 or "connection refused" not in ok.stdout:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1)  # the server is still starting
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "https: 200 tls-ok" in ok.stdout
        assert "zone: CEST" in ok.stdout
        subjects = int(ok.stdout.split("system pool subjects:")[1].split()[0])
        assert subjects > 100, ok.stdout  # the build image's whole bundle, plus the lab CA
        control = lab.docker(
            *run, "-e", "SSL_CERT_FILE=/nonexistent", "-e", "SSL_CERT_DIR=/nonexistent",
            f"{tag}-client", url, check=False, timeout=120,
        )  # fmt: skip
        assert control.returncode == 2, control.stdout + control.stderr
        assert "certificate signed by unknown authority" in control.stdout, control.stdout
    finally:
        lab.docker("rm", "--force", server, check=False, timeout=60)
        lab.docker("network", "rm", network, check=False, timeout=60)
        lab.rm_images(f"{tag}-server", f"{tag}-client")
