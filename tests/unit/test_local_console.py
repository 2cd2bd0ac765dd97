"""The web console's files as the local gateway serves them (infra/local/console.py), and the folder's shape:
relative paths only and nothing fetched from elsewhere, so the same folder works from an S3 bucket's root."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.local.console import CONSOLE_DIR, console_file, is_console_path

ASSET_REFERENCE = re.compile(r'(?:href|src)="([^"#]+)"')
MODULE_IMPORT = re.compile(r'^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"', re.MULTILINE)


def served(path: str) -> tuple[int, dict[str, str], bytes]:
    assert is_console_path(path), path
    return console_file(path)


@pytest.mark.parametrize("path", ["/", "/index.html"])
def test_the_root_is_the_console_page_with_its_security_headers(path: str) -> None:
    status, headers, body = served(path)

    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body == (CONSOLE_DIR / "index.html").read_bytes()
    assert "connect-src 'self'" in headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"


def test_config_json_points_the_console_at_this_origin_with_local_sign_in() -> None:
    status, headers, body = served("/config.json")

    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"api": "", "auth": "local"}


def test_every_file_the_page_names_is_served_with_its_type_by_a_relative_path() -> None:
    _, _, page = served("/")
    references = ASSET_REFERENCE.findall(page.decode())

    assert references, "index.html names no stylesheet or script"
    for reference in references:
        # Relative: the page works under any prefix, and from a bucket's root behind CloudFront.
        assert not reference.startswith(("/", "http:", "https:", "//")), reference
        status, headers, _ = served(f"/{reference}")
        assert status == 200, reference
        expected = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[Path(reference).suffix]
        assert headers["Content-Type"].startswith(expected), (reference, headers["Content-Type"])


def test_every_module_import_resolves_to_a_served_file() -> None:
    modules = sorted((CONSOLE_DIR / "assets" / "js").glob("*.js"))
    assert modules
    for module in modules:
        for target in MODULE_IMPORT.findall(module.read_text(encoding="utf-8")):
            assert target.startswith("./"), f"{module.name} imports {target}: only the console's own modules"
            path = "/" + (module.parent / target).resolve().relative_to(CONSOLE_DIR.resolve()).as_posix()
            status, headers, _ = served(path)
            assert status == 200 and headers["Content-Type"].startswith("text/javascript"), (module.name, target)


def test_nothing_is_loaded_from_another_origin() -> None:
    for file in CONSOLE_DIR.rglob("*"):
        if file.suffix in {".html", ".css", ".js"}:
            text = file.read_text(encoding="utf-8")
            assert not re.search(
                r"""(?:src|href)=["']https?:|@import|url\(\s*["']?https?:|from\s+["']https?:""", text
            ), file


@pytest.mark.parametrize(
    "path", ["/assets/../../pyproject.toml", "/assets/../index.html/../../Makefile", "/assets/js", "/assets/missing.js"]
)
def test_a_path_outside_the_console_or_not_a_file_is_not_found(path: str) -> None:
    status, headers, body = served(path)

    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/incidents", "/admin/directory", "/auth/me", "/openapi.json", "/docs", "/assetsX/a.js"]
)
def test_api_paths_stay_the_apis(path: str) -> None:
    assert not is_console_path(path)
