"""Where the api function's pages link back to: the URL the request reached API Gateway at (functions/api/http_rules.py)."""

import pytest

from functions.api.http_rules import public_url


def event(path: str, context_path: str, domain: str | None, headers: dict | None = None) -> dict:
    context = {"path": context_path, "stage": "prod"} | ({"domainName": domain} if domain else {})
    return {"path": path, "headers": headers, "requestContext": context}


@pytest.mark.parametrize(
    ("request_event", "url"),
    [
        # the execute-api domain: the stage comes before the route in requestContext.path
        (
            event(
                "/incidents",
                "/prod/incidents",
                "abc123.execute-api.eu-west-1.amazonaws.com",
                {"X-Forwarded-Proto": "https"},
            ),
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
        ),
        # a custom domain with a base path mapping, and one without
        (event("/incidents/INC-1", "/pager/incidents/INC-1", "pager.example.com"), "https://pager.example.com/pager"),
        (event("/incidents", "/incidents", "pager.example.com"), "https://pager.example.com"),
        # the local gateway says it speaks plain HTTP; anything else a header claims is not believed
        (event("/incidents", "/incidents", "127.0.0.1:3000", {"x-forwarded-proto": "http"}), "http://127.0.0.1:3000"),
        (
            event("/incidents", "/incidents", "pager.example.com", {"X-Forwarded-Proto": "javascript"}),
            "https://pager.example.com",
        ),
        # no domain (a test event, an invocation by hand): no links rather than wrong ones
        (event("/incidents", "/prod/incidents", None), ""),
    ],
)
def test_public_url_is_where_the_request_reached_the_api(request_event, url):
    assert public_url(request_event) == url
