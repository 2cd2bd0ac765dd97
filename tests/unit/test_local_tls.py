"""The local runtime's certificate (infra/local/tls.py): made once, kept while valid, its leaf re-issued when it no
longer matches its CA or is about to expire, its keys private, and the CA able to vouch for local names only."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from infra.local import tls


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_first_start_makes_a_ca_and_a_local_certificate_it_signed(tmp_path: Path) -> None:
    files = tls.ensure_certificate(tmp_path / "tls")

    ca, leaf = certificate(files.ca), certificate(files.cert)
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical and constraints.value.excluded_subtrees is None
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= datetime.timedelta(days=tls.LEAF_DAYS, minutes=5)
    for key in (files.ca_key, files.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_the_next_start_keeps_them_so_a_client_trusting_the_ca_keeps_working(tmp_path: Path) -> None:
    first = tls.ensure_certificate(tmp_path)
    kept = {path: path.read_bytes() for path in (first.ca, first.ca_key, first.cert, first.key)}
    tls.ensure_certificate(tmp_path)
    assert {path: path.read_bytes() for path in kept} == kept


def test_a_leaf_that_no_longer_matches_its_ca_is_issued_again_under_the_kept_ca(tmp_path: Path) -> None:
    files = tls.ensure_certificate(tmp_path)
    ca = files.ca.read_bytes()
    other = tls.ensure_certificate(tmp_path / "other")
    files.cert.write_bytes(other.cert.read_bytes())  # e.g. a copied folder with someone else's certificate

    tls.ensure_certificate(tmp_path)

    assert files.ca.read_bytes() == ca
    certificate(files.cert).verify_directly_issued_by(certificate(files.ca))


def test_paths_inside_the_current_folder_are_shown_relative(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = tls.TlsFiles(tmp_path / ".firebell" / "tls")
    assert "SSL_CERT_FILE=.firebell/tls/ca.pem" in tls.trust_hint(files)
    assert tls.shown(Path("/elsewhere/ca.pem")) == "/elsewhere/ca.pem"


def test_a_leaf_about_to_expire_is_renewed_and_the_ca_kept(tmp_path: Path, monkeypatch) -> None:
    files = tls.ensure_certificate(tmp_path)
    ca, leaf = files.ca.read_bytes(), files.cert.read_bytes()
    # Seen as if 900 days had passed: the leaf (825 days) is past renewal, the CA (3,650) is not
    monkeypatch.setattr(tls, "RENEW_BEFORE", datetime.timedelta(days=900))

    tls.ensure_certificate(tmp_path)

    assert files.ca.read_bytes() == ca and files.cert.read_bytes() != leaf
    certificate(files.cert).verify_directly_issued_by(certificate(files.ca))
