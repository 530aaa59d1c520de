"""Small real things tests share: recorded callback bodies, real images, a local HTTP server."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def callback_body(name: str) -> dict:
    return json.loads((DATA / "callbacks" / f"{name}.json").read_text())


def txt2img_form(prompt: str, **overrides) -> dict:
    """What a person submits on the text-to-image form: its defaults, a prompt and a fixed seed."""
    from gallery.forms import Txt2ImgForm, default_data

    return default_data(Txt2ImgForm, **{"prompt": prompt, "negative_prompt": "", "seed": 7, **overrides})


def png_bytes(size: tuple[int, int] = (64, 64), colour: tuple[int, int, int] = (200, 40, 60)) -> bytes:
    buffer = io.BytesIO()
    image = PILImage.new("RGB", size, colour)
    for x in range(0, size[0], 8):  # a little structure, so thumbnails are not trivially flat
        for y in range(size[1]):
            image.putpixel((x, y), (20, 20, 20))
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Recorder:
    """A threaded local HTTP server whose routes are plain functions; it records requests."""

    def __init__(self, port: int = 0):
        self.requests: list[dict] = []
        self.routes: dict[str, callable] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                route = recorder.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                status, headers, payload = route(self, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def json_reply(payload, status: int = 200):
    return lambda handler, body: (status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
