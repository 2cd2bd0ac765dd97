"""The web console's static files on the local gateway, as CloudFront serves them from S3 in AWS.

GET / is console/index.html, GET /assets/… the files under console/assets/, and GET /config.json the
runtime's own ({"api": "", "auth": "local"}: the API on the same origin, the local sign-in). Every other
path stays the API's. The console uses relative paths only, so the same folder works at a bucket's root.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from infra.people import CONSOLE_DIR, console_content_security_policy

ASSETS = "/assets/"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
# As CloudFront's response headers policy in AWS (infra/cdk/console.py), with the same Content-Security-Policy less
# the hosted UI (locally nobody signs in elsewhere): the console loads and calls nothing but this origin.
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": console_content_security_policy(),
}


def local_config() -> dict[str, Any]:
    """config.json for the local runtime: the API on the same origin, people sign in by picking a name."""
    return {"api": "", "auth": "local"}


def is_console_path(path: str) -> bool:
    return path in ("/", "/index.html", "/config.json") or path.startswith(ASSETS)


def console_file(path: str, console_dir: Path = CONSOLE_DIR) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for a console path (is_console_path): the file, or 404 for one that is not there."""
    if path == "/config.json":
        return 200, {**HEADERS, "Content-Type": CONTENT_TYPES[".json"]}, json.dumps(local_config()).encode()
    relative = "index.html" if path in ("/", "/index.html") else path.lstrip("/")
    root = console_dir.resolve()
    file = (root / relative).resolve()
    # Never outside the console folder (/assets/../../pyproject.toml), never a folder.
    if not file.is_relative_to(root) or not file.is_file():
        body = json.dumps({"error": "not_found", "message": f"no console file {path[:200]}"}).encode()
        return 404, {"Content-Type": "application/json"}, body
    content_type = CONTENT_TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return 200, {**HEADERS, "Content-Type": content_type}, file.read_bytes()
