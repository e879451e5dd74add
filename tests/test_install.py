"""ptree installs and runs anywhere Python does: the wheel carries everything (templates,
static files with their licences, the bundled scenarios), installs only `ptree.*`, and the
installed `ptree serve`, started from a directory that is not the checkout, serves every
page.  No network: the wheel is built without build isolation, installed with --no-index,
and its dependencies come from the project's own virtualenv."""

import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios").rglob("*.yaml"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(ROOT)], check=True, timeout=300,
                   capture_output=True)
    (whl,) = out.glob("ptree-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh virtualenv with the wheel installed; dependencies from ours (a .pth)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   text=True).strip()
    Path(site, "ptree-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=300, capture_output=True)
    return venv


def test_the_wheel_holds_everything_under_ptree(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("ptree/", "ptree-")) for n in names), \
        sorted({n.split("/")[0] for n in names})
    for want in ("ptree/templates/index.html", "ptree/static/app.js",
                 "ptree/static/vendor/VERSIONS.md", "ptree/static/vendor/d3/LICENSE",
                 "ptree/scenarios/orphans-and-reapers.yaml", "ptree/engine/kernel.py",
                 "ptree/webui/cli.py", "ptree/__main__.py"):
        assert want in names, want
    assert sum(n.startswith("ptree/scenarios/") and n.endswith(".yaml") for n in names) \
        == len(BUNDLED)


def test_installed_command_line_from_another_directory(installed, tmp_path):
    bin_ = installed / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run([bin_ / "ptree", "run", "orphans-and-reapers", "--json"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["events"] > 0
    where = subprocess.run([bin_ / "python", "-c", "import ptree.engine; print(ptree.engine.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(installed)), where.stdout   # the wheel, not the checkout
    gone = subprocess.run([bin_ / "python", "-c", "import engine"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert gone.returncode != 0                                     # no generic top-level names
    version = subprocess.run([bin_ / "python", "-m", "ptree", "--version"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=60)
    assert version.stdout.strip().startswith("ptree 0.")


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read()


def test_installed_serve_serves_every_page(installed, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.Popen([installed / "bin" / "ptree", "serve", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:                    # a bounded poll that waits on the process itself
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                pass
            try:
                code = proc.wait(timeout=0.1)
                pytest.fail(f"ptree serve exited with {code}: {proc.stdout.read()}")
            except subprocess.TimeoutExpired:
                assert time.monotonic() < deadline, "ptree serve did not start"
        for path in ("/", "/gallery", "/compare?scenario=orphans-and-reapers",
                     "/quiz?scenario=orphans-and-reapers", "/static/app.js",
                     "/static/vendor/d3/d3.min.js", "/favicon.ico"):
            status, body = _get(base + path)
            assert status == 200 and body, path
        names = sorted(s["name"] for s in json.loads(_get(base + "/api/scenarios")[1]))
        assert names == BUNDLED
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_on_a_port_in_use_says_so_and_exits_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "ptree", "serve", "--port", str(port),
                               "--async-mode", "threading"], capture_output=True, text=True,
                              timeout=60)
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr
