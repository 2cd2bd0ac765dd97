"""People's front door, described as data next to the topology (docs/access.md): the roles, where the console's
files are, where the CLI's sign-in returns, and the console's Content-Security-Policy. infra/cdk/people.py and
infra/cdk/console.py render them in AWS; the local runtime can serve the console with the same policy.
"""

from __future__ import annotations

from infra.topology import ROOT

# The roles of docs/access.md. Deployed, a person's roles are their Cognito groups of these names
# (infra/cdk/people.py); locally, people[].roles in config/firebell.yaml.
ROLES: dict[str, str] = {
    "viewer": "Stakeholders: read incidents, timelines, on-call, schedules, the directory",
    "reporter": "Any employee: report an incident, read the incidents they reported",
    "responder": "Work incidents: acknowledge, note, hold, escalate, reassign, resolve, reopen; take or give a shift",
    "incident_manager": "Responder, and stakeholder updates and post-incident reviews",
    "admin": "Everything, the admin API included",
}
# The console's files (served from S3 through CloudFront deployed; from the local runtime at /).
CONSOLE_DIR = ROOT / "console"
# Where the CLI listens for the hosted UI's redirect after a sign-in (Cognito allows http:// only for localhost,
# and matches the port exactly).
CLI_SIGN_IN_CALLBACK = "http://localhost:8765/callback"


def console_content_security_policy(*sign_in_origins: str) -> str:
    """The console's Content-Security-Policy: its own files only (vendored, no CDN), no inline script or style,
    and fetches to itself (the API under /api) and to the sign-in services (deployed: the hosted UI's token
    exchange, Cognito's user API for MFA set-up)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            " ".join(("connect-src 'self'", *sign_in_origins)),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
