"""A SAML identity provider for the tests: pysaml2 acting as the IdP, signing with its own key
(by the xmlsec1 program, as pysaml2 does), answering keystile's AuthnRequests or starting a
login itself, with a plain or an encrypted assertion, and the hostile variants an attacker
would post (unsigned, signed by another key, wrapped, edited after signing, replayed).

    idp = SAMLIdP(tmp_path)
    b2b.sso.saml.update_connection(..., idp_entity_id=idp.entity_id, idp_sso_url=idp.sso_url,
                                   x509_certificate=idp.certificate)
    request = idp.receive(start_redirect_location)          # SP-initiated: parse the AuthnRequest
    form = idp.respond(sp_metadata, email="ada@acme.test", request=request)
    httpx.post(form.acs_url, data=form.fields)

Hostile variants are built with `respond(..., edit=fn)`: the response is made unsigned by
pysaml2, `fn` changes its XML (lxml), and then pysaml2 signs the assertion (and the response
when asked), so the signature is valid over the wrong value.
"""

from __future__ import annotations

import base64
import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS}
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SHA256_SIGNATURE = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256_DIGEST = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1_DIGEST = "http://www.w3.org/2000/09/xmldsig#sha1"


def xmlsec1() -> str | None:
    return shutil.which("xmlsec1")


def key_pair(directory: Path, name: str, common_name: str) -> tuple[Path, Path, str]:
    """An RSA key and a self-signed certificate written to files; returns (key file, cert file, cert PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file.write_text(pem)
    return key_file, cert_file, pem


@dataclass
class Request:
    """An AuthnRequest the IdP received (HTTP-Redirect binding)."""

    id: str
    acs_url: str
    issuer: str
    relay_state: str | None
    signed: bool


@dataclass
class Form:
    """The auto-submitted form an IdP hands the browser: POST `fields` to `acs_url`."""

    acs_url: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def xml(self) -> bytes:
        return base64.b64decode(self.fields["SAMLResponse"])


class SAMLIdP:
    """One IdP with its own entity ID and signing key (and a second key it does not publish)."""

    def __init__(
        self,
        directory: Path,
        *,
        entity_id: str = "https://idp.example.test/saml/metadata",
        sso_url: str = "https://idp.example.test/saml/sso",
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.entity_id = entity_id
        self.sso_url = sso_url
        self.key_file, self.cert_file, self.certificate = key_pair(directory, "idp", "test idp")
        self.other_key_file, self.other_cert_file, self.other_certificate = key_pair(directory, "other", "not the idp")
        self._servers: dict[Path | None, Any] = {}
        self._loaded: dict[Path | None, set[str]] = {}
        self._metadata: str | None = None

    # --- pysaml2 ---------------------------------------------------------------------------

    def server(self, sp_metadata: bytes | str, *, key_file: Path | None = None):  # -> saml2.server.Server
        """pysaml2's IdP signing with `key_file` (the IdP's own key by default), made once per
        key, with the SP's metadata imported (once per SP)."""
        xml = sp_metadata.decode() if isinstance(sp_metadata, bytes) else sp_metadata
        server = self._servers.get(key_file)
        if server is None:
            server = self._servers[key_file] = self._new_server(xml, key_file=key_file)
            self._loaded[key_file] = {xml}
        elif xml not in self._loaded[key_file]:
            server.metadata.load("inline", xml)
            self._loaded[key_file].add(xml)
        return server

    def _new_server(self, sp_metadata: bytes | str, *, key_file: Path | None):  # -> saml2.server.Server
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_BASIC
        from saml2.server import Server

        binary = xmlsec1()
        assert binary, "the xmlsec1 program is not installed (Debian package xmlsec1)"
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": binary,
                "key_file": str(key_file or self.key_file),
                "cert_file": str(self.other_cert_file if key_file == self.other_key_file else self.cert_file),
                "metadata": {"inline": [sp_metadata.decode() if isinstance(sp_metadata, bytes) else sp_metadata]},
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (self.sso_url, BINDING_HTTP_REDIRECT),
                                (self.sso_url, BINDING_HTTP_POST),
                            ]
                        },
                        "name_id_format": [EMAIL_FORMAT],
                        "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_BASIC}},
                    }
                },
                "delete_tmpfiles": True,
            }
        )
        return Server(config=config)

    def metadata(self) -> str:
        """The IdP's metadata XML, as an SP imports it."""
        from saml2.metadata import create_metadata_string

        if self._metadata is None:
            self._metadata = create_metadata_string(None, config=self._metadata_config()).decode()
        return self._metadata

    def _metadata_config(self):  # -> saml2.config.Config
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig

        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": xmlsec1(),
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (self.sso_url, BINDING_HTTP_REDIRECT),
                                (self.sso_url, BINDING_HTTP_POST),
                            ]
                        },
                        "name_id_format": [EMAIL_FORMAT],
                    }
                },
            }
        )
        return config

    def receive(self, location: str, sp_metadata: bytes | str) -> Request:
        """Parse the AuthnRequest in the redirect keystile answered the start route with."""
        from saml2 import BINDING_HTTP_REDIRECT

        query = parse_qs(urlsplit(location).query)
        parsed = self.server(sp_metadata).parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        message = parsed.message
        return Request(
            id=message.id,
            acs_url=message.assertion_consumer_service_url,
            issuer=message.issuer.text,
            relay_state=query.get("RelayState", [None])[0],
            signed="Signature" in query,
        )

    def respond(
        self,
        sp_metadata: bytes | str,
        *,
        email: str,
        acs_url: str,
        audience: str,
        request: Request | None = None,
        attributes: dict[str, list[str]] | None = None,
        sign_response: bool = True,
        sign_assertion: bool = True,
        encrypt_with: str | None = None,
        edit: Callable[[etree._Element], None] | None = None,
        key_file: Path | None = None,
        sign_alg: str = SHA256_SIGNATURE,
        digest_alg: str = SHA256_DIGEST,
    ) -> Form:
        """A Response for `email`, SP-initiated when `request` is given, IdP-initiated otherwise.

        `encrypt_with`: the SP's encryption certificate (PEM) to encrypt the assertion to.
        `edit`: change the unsigned XML before pysaml2 signs it (hostile variants).
        `key_file`: sign with another key than the one the IdP publishes."""
        from saml2.saml import NameID

        server = self.server(sp_metadata, key_file=key_file)
        identity = attributes if attributes is not None else {"email": [email]}
        name_id = NameID(format=EMAIL_FORMAT, text=email)
        signing_now = edit is None
        response = server.create_authn_response(
            identity=identity,
            in_response_to=request.id if request else None,
            destination=acs_url,
            sp_entity_id=audience,
            name_id=name_id,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
            sign_response=sign_response and signing_now,
            sign_assertion=sign_assertion and signing_now,
            encrypt_assertion=encrypt_with is not None,
            encrypt_cert_assertion=encrypt_with,
            sign_alg=sign_alg,
            digest_alg=digest_alg,
        )
        xml = str(response).encode()
        if not signing_now:
            assert edit is not None
            root = etree.fromstring(xml)
            edit(root)
            xml = self.sign(
                server, root, response=sign_response, assertion=sign_assertion, sign_alg=sign_alg, digest_alg=digest_alg
            )
        fields = {"SAMLResponse": base64.b64encode(xml).decode()}
        if request and request.relay_state:
            fields["RelayState"] = request.relay_state
        return Form(acs_url=acs_url, fields=fields)

    def sign(
        self,
        server,
        root: etree._Element,
        *,
        response: bool,
        assertion: bool,
        sign_alg: str = SHA256_SIGNATURE,
        digest_alg: str = SHA256_DIGEST,
    ) -> bytes:
        """Sign the assertion and/or the response of `root` with pysaml2 (xmlsec1)."""
        from saml2.saml import Assertion
        from saml2.samlp import Response
        from saml2.sigver import pre_signature_part

        def template(element: etree._Element) -> None:
            part = etree.fromstring(
                str(pre_signature_part(element.get("ID"), sign_alg=sign_alg, digest_alg=digest_alg)).encode()
            )
            issuer = element.find("saml:Issuer", NS)
            element.insert(element.index(issuer) + 1 if issuer is not None else 0, part)

        the_assertion = root.find("saml:Assertion", NS)
        if assertion and the_assertion is not None:
            template(the_assertion)
            root = etree.fromstring(
                server.sec.sign_statement(
                    etree.tostring(root).decode(), _class(Assertion), node_id=the_assertion.get("ID")
                ).encode()
            )
        if response:
            template(root)
            root = etree.fromstring(
                server.sec.sign_statement(
                    etree.tostring(root).decode(), _class(Response), node_id=root.get("ID")
                ).encode()
            )
        return bytes(etree.tostring(root))


def _class(cls) -> str:
    return f"{cls.c_namespace}:{cls.c_tag}"


@contextmanager
def serve_metadata(body: bytes | str, *, status: int = 200) -> Iterator[str]:
    """Serve `body` at http://127.0.0.1:PORT/metadata for update_by_url; yields the URL."""
    payload = body.encode() if isinstance(body, str) else body

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metadata"
    finally:
        server.shutdown()
        server.server_close()
