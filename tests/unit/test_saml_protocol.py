"""keystile's SAML service provider checks (sso/saml/protocol.py) against responses made by
pysaml2 acting as the IdP (tests/saml_idp.py): what a real IdP sends is accepted, and every
hostile variant is refused, with the reason an operator would need."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from keystile.sso.saml import metadata, protocol
from keystile.sso.saml.protocol import Refused
from tests.saml_idp import NS, SHA1_DIGEST, SHA1_SIGNATURE, Form, Request, SAMLIdP, xmlsec1
from tests.support import IN_CI

ACS = "https://auth.example.test/v1/b2b/sso/saml/acs/saml-connection-test-1"
AUDIENCE = "https://auth.example.test/v1/b2b/sso/saml/metadata/saml-connection-test-1"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SAMLIdP:
    if xmlsec1() is None:
        if IN_CI:
            pytest.fail("the xmlsec1 program is not installed; CI needs it (Debian package xmlsec1)")
        pytest.skip("the xmlsec1 program is not installed (Debian package xmlsec1)")
    return SAMLIdP(tmp_path_factory.mktemp("idp"))


class SP:
    """One connection's side: its keys, its metadata and what it trusts."""

    def __init__(self, idp: SAMLIdP) -> None:
        now = datetime.now(UTC)
        self.signing_key, self.signing_cert = protocol.new_key_pair("keystile", now)
        self.encryption_key, self.encryption_cert = protocol.new_key_pair("keystile", now)
        self.metadata = protocol.sp_metadata(
            entity_id=AUDIENCE,
            acs_url=ACS,
            nameid_format=None,
            signing_certificates=[self.signing_cert],
            encryption_certificates=[self.encryption_cert],
        )
        self.trust = protocol.Trust(
            idp_entity_id=idp.entity_id,
            certificates=[idp.certificate],
            acs_urls=[ACS],
            audiences=[AUDIENCE],
            decryption_keys=[self.encryption_key],
        )

    def request(self, idp: SAMLIdP, request_id: str = "id-request-1") -> Request:
        xml = protocol.authn_request(
            request_id=request_id,
            issuer=AUDIENCE,
            destination=idp.sso_url,
            acs_url=ACS,
            nameid_format=None,
            now=datetime.now(UTC),
        )
        location = protocol.redirect_url(idp.sso_url, xml, relay_state="state-1", signing_key_pem=self.signing_key)
        return idp.receive(location, self.metadata)


@pytest.fixture(scope="module")
def sp(idp: SAMLIdP) -> SP:
    return SP(idp)


def respond(idp: SAMLIdP, sp: SP, request: Request | None, **options) -> Form:
    options.setdefault("attributes", {"user.email": ["ada@acme.test"], "firstName": ["Ada"], "groups": ["eng"]})
    return idp.respond(sp.metadata, email="ada@acme.test", acs_url=ACS, audience=AUDIENCE, request=request, **options)


def check(form: Form, sp: SP, *, request_id: str | None, now: datetime | None = None, trust=None) -> protocol.Assertion:
    root = protocol.parse(protocol.decode_post(form.fields["SAMLResponse"]))
    return protocol.verify(root, trust or sp.trust, now=now or datetime.now(UTC), request_id=request_id)


def refused(form: Form, sp: SP, *, request_id: str | None = "id-request-1", **kw) -> str:
    with pytest.raises(Refused) as caught:
        check(form, sp, request_id=request_id, **kw)
    return str(caught.value)


class TestWhatAnIdPSends:
    def test_the_authn_request_reaches_the_idp_signed_with_its_relay_state(self, idp: SAMLIdP, sp: SP) -> None:
        request = sp.request(idp, "id-abc")
        assert (request.id, request.acs_url, request.issuer) == ("id-abc", ACS, AUDIENCE)
        assert request.relay_state == "state-1"
        assert request.signed

    def test_an_sp_initiated_response_signed_twice_is_read(self, idp: SAMLIdP, sp: SP) -> None:
        request = sp.request(idp)
        assertion = check(respond(idp, sp, request), sp, request_id=request.id)
        assert assertion.name_id == "ada@acme.test"
        assert assertion.attributes["firstName"] == ["Ada"]
        assert assertion.attributes["groups"] == ["eng"]
        assert assertion.in_response_to == request.id

    @pytest.mark.parametrize("signed", ["response", "assertion"])
    def test_one_signature_is_enough(self, idp: SAMLIdP, sp: SP, signed: str) -> None:
        request = sp.request(idp)
        form = respond(idp, sp, request, sign_response=signed == "response", sign_assertion=signed == "assertion")
        assert check(form, sp, request_id=request.id).name_id == "ada@acme.test"

    def test_an_idp_initiated_response_names_no_request(self, idp: SAMLIdP, sp: SP) -> None:
        assertion = check(respond(idp, sp, None), sp, request_id=None)
        assert assertion.in_response_to is None
        assert assertion.name_id == "ada@acme.test"

    def test_an_encrypted_assertion_decrypts_with_the_connections_key(self, idp: SAMLIdP, sp: SP) -> None:
        request = sp.request(idp)
        form = respond(idp, sp, request, encrypt_with=sp.encryption_cert)
        assert b"EncryptedAssertion" in form.xml
        assert b"ada@acme.test" not in form.xml
        assert check(form, sp, request_id=request.id).attributes["firstName"] == ["Ada"]

    def test_an_encrypted_assertion_for_another_key_is_refused(self, idp: SAMLIdP, sp: SP) -> None:
        _key, other_cert = protocol.new_key_pair("other", datetime.now(UTC))
        request = sp.request(idp)
        form = respond(idp, sp, request, encrypt_with=other_cert)
        assert "does not decrypt" in refused(form, sp)

    def test_certificates_rotate_with_overlap(self, idp: SAMLIdP, sp: SP) -> None:
        """While an IdP rolls its key, both certificates verify; the old one alone no longer does."""
        request = sp.request(idp)
        form = respond(idp, sp, request, key_file=idp.other_key_file)
        both = protocol.Trust(**{**sp.trust.__dict__, "certificates": [idp.certificate, idp.other_certificate]})
        assert check(form, sp, request_id=request.id, trust=both).name_id == "ada@acme.test"
        assert "does not verify" in refused(form, sp)

    def test_idp_metadata_gives_entity_id_sso_url_and_certificate(self, idp: SAMLIdP) -> None:
        found = metadata.read(idp.metadata().encode())
        assert (found.entity_id, found.sso_url) == (idp.entity_id, idp.sso_url)
        assert found.certificates == [protocol.certificate_pem(protocol.load_certificate(idp.certificate))]


class TestRefused:
    def test_an_unsigned_response(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp), sign_response=False, sign_assertion=False)
        assert "Neither the Response nor its assertion is signed" in refused(form, sp)

    def test_a_signature_by_another_certificate(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp), key_file=idp.other_key_file)
        assert "does not verify with any of the connection's certificates" in refused(form, sp)

    def test_a_sha1_signature(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp), sign_alg=SHA1_SIGNATURE, digest_alg=SHA1_DIGEST)
        assert "SHA1" in refused(form, sp)

    def test_a_value_changed_after_signing(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp), sign_response=False)
        root = etree.fromstring(form.xml)
        root.find(".//saml:NameID", NS).text = "eve@acme.test"
        assert "does not verify" in refused(repost(form, root), sp)

    def test_signature_wrapping_an_evil_assertion_beside_the_signed_one(self, idp: SAMLIdP, sp: SP) -> None:
        """XSW: the signed assertion moves into the Response's Extensions, an unsigned copy
        naming someone else takes its place; the signature still verifies on the original."""
        form = respond(idp, sp, sp.request(idp), sign_response=False)
        root = etree.fromstring(form.xml)
        signed = root.find("saml:Assertion", NS)
        evil = copy.deepcopy(signed)
        evil.find(".//saml:NameID", NS).text = "eve@acme.test"
        evil.remove(evil.find("ds:Signature", NS))
        evil.set("ID", "evil")
        extensions = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
        root.replace(signed, evil)
        extensions.append(signed)
        root.insert(1, extensions)
        assert "exactly one assertion" in refused(repost(form, root), sp)

    def test_signature_wrapping_of_a_signed_response(self, idp: SAMLIdP, sp: SP) -> None:
        """XSW on the Response: the original signed Response is tucked inside the Signature's
        Object while a forged outer Response with the same ID carries an evil assertion."""
        form = respond(idp, sp, sp.request(idp), sign_assertion=False)
        original = etree.fromstring(form.xml)
        forged = copy.deepcopy(original)
        forged.find(".//saml:NameID", NS).text = "eve@acme.test"
        signature = forged.find("ds:Signature", NS)
        obj = etree.SubElement(signature, "{http://www.w3.org/2000/09/xmldsig#}Object")
        obj.append(original)
        assert "exactly one assertion" in refused(repost(form, forged), sp)

    def test_signature_wrapping_with_the_signed_assertion_moved_out_of_reach(self, idp: SAMLIdP, sp: SP) -> None:
        """The assertion's signature references it by ID; an attacker keeps the signed copy
        only inside the Signature element of an evil assertion with the same ID."""
        form = respond(idp, sp, sp.request(idp), sign_response=False)
        root = etree.fromstring(form.xml)
        signed = root.find("saml:Assertion", NS)
        evil = copy.deepcopy(signed)
        evil.find(".//saml:NameID", NS).text = "eve@acme.test"
        evil.find("ds:Signature", NS).append(copy.deepcopy(signed))
        root.replace(signed, evil)
        assert "exactly one assertion" in refused(repost(form, root), sp)

    def test_a_comment_inserted_in_the_name_id(self, idp: SAMLIdP, sp: SP) -> None:
        """ada@acme.test.evil.test<!---->: a reader taking the first text node sees another
        address, while canonicalization without comments keeps the signature valid."""
        form = respond(idp, sp, sp.request(idp), sign_response=False)
        text = form.xml.replace(b"ada@acme.test</", b"ada@acme.test<!---->.evil.test</", 1)
        forged = Form(acs_url=form.acs_url, fields={**form.fields, "SAMLResponse": encode(text)})
        assert "comment" in refused(forged, sp)

    def test_a_wrong_audience(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp), edit=set_text(".//saml:Audience", "https://other.example.test/sp"))
        assert "another audience" in refused(form, sp)

    def test_a_wrong_recipient(self, idp: SAMLIdP, sp: SP) -> None:
        edit = set_attribute(".//saml:SubjectConfirmationData", "Recipient", "https://other.example.test/acs")
        assert "another Recipient" in refused(respond(idp, sp, sp.request(idp), edit=edit), sp)

    def test_a_wrong_destination(self, idp: SAMLIdP, sp: SP) -> None:
        edit = set_attribute(".", "Destination", "https://other.example.test/acs")
        assert "another Destination" in refused(respond(idp, sp, sp.request(idp), edit=edit), sp)

    def test_an_expired_assertion(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp))
        later = datetime.now(UTC) + timedelta(minutes=30)
        assert "expired" in refused(form, sp, now=later)

    def test_an_assertion_not_valid_yet(self, idp: SAMLIdP, sp: SP) -> None:
        future = (datetime.now(UTC) + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
        form = respond(idp, sp, sp.request(idp), edit=set_attribute(".//saml:Conditions", "NotBefore", future))
        assert "not valid yet" in refused(form, sp)

    def test_an_in_response_to_for_another_request(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp, "id-request-2"))
        assert "answers another request" in refused(form, sp, request_id="id-request-1")

    def test_an_sp_initiated_response_where_no_request_is_pending(self, idp: SAMLIdP, sp: SP) -> None:
        form = respond(idp, sp, sp.request(idp, "id-request-2"))
        assert "request keystile does not know" in refused(form, sp, request_id=None)

    def test_an_idp_initiated_response_where_a_request_was_expected(self, idp: SAMLIdP, sp: SP) -> None:
        assert "answers another request" in refused(respond(idp, sp, None), sp)

    def test_another_issuer(self, idp: SAMLIdP, sp: SP) -> None:
        other = protocol.Trust(**{**sp.trust.__dict__, "idp_entity_id": "https://other-idp.example.test"})
        assert "Issuer" in refused(respond(idp, sp, sp.request(idp)), sp, trust=other)

    def test_a_dtd(self, sp: SP) -> None:
        xml = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
        with pytest.raises(Refused, match="DTD"):
            protocol.parse(xml)

    def test_not_base64(self) -> None:
        with pytest.raises(Refused, match="base64"):
            protocol.decode_post("not base64!")

    def test_an_oversized_response(self) -> None:
        with pytest.raises(Refused, match="larger"):
            protocol.decode_post("A" * (protocol.MAX_RESPONSE_BYTES + 4))


def encode(xml: bytes) -> str:
    import base64

    return base64.b64encode(xml).decode()


def repost(form: Form, root: etree._Element) -> Form:
    return Form(acs_url=form.acs_url, fields={**form.fields, "SAMLResponse": encode(etree.tostring(root))})


def set_text(path: str, value: str):
    def edit(root: etree._Element) -> None:
        root.find(path, NS).text = value

    return edit


def set_attribute(path: str, name: str, value: str):
    def edit(root: etree._Element) -> None:
        root.find(path, NS).set(name, value)

    return edit
