"""Every AWS client of a process comes from one botocore session (firebell/adapters/aws.py): the service models
are loaded once, not once per client."""

from firebell import wiring
from firebell.adapters import aws


def test_clients_share_one_session_and_each_is_made_once(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # no credential lookup beyond the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    wiring.reset()
    sns, sqs = aws.client("sns", "us-east-1"), aws.client("sqs", "us-east-1")
    assert sns is aws.client("sns", "us-east-1")
    assert sns._loader is sqs._loader is aws.session().get_component("data_loader")
    wiring.reset()  # tests that change the environment get a new session and new clients
    assert aws.client("sns", "us-east-1") is not sns


def test_pynamodbs_connections_make_their_clients_from_the_same_session(monkeypatch) -> None:
    from firebell.data.records import ALL_RECORDS, bind_table

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    wiring.reset()
    bind_table("firebell-session-test", "us-east-1")
    loaders = {id(model._get_connection().connection.client._loader) for model in ALL_RECORDS}
    assert loaders == {id(aws.session().get_component("data_loader"))}
