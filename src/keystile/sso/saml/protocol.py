"""SAML 2.0 Web Browser SSO, service provider side: the AuthnRequest keystile sends, the SP
metadata an IdP imports, and the checks a Response must pass before anyone is logged in.

Signatures are checked by signxml (XML-DSig over lxml and cryptography, ADR 0017); every
value read afterwards comes from the element the signature covers (`VerifyResult.signed_xml`),
never from the document as posted, which is what defeats signature wrapping. Encrypted
assertions are decrypted here with `cryptography` (XML Encryption: RSA-OAEP key transport,
AES-CBC / AES-GCM / 3DES-CBC content). Nothing in this module touches the database: the
caller supplies what a connection trusts (`Trust`) and stores what must be single use.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree
from signxml import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, XMLVerifier
from signxml.verifier import SignatureConfiguration

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS, "xenc": XENC, "xenc11": XENC11, "md": MD}

BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

# A SAMLResponse larger than this is refused before it is parsed (base64 text, as posted).
MAX_RESPONSE_BYTES = 256 * 1024
# Clock difference allowed between the IdP and keystile, both ways.
CLOCK_SKEW = timedelta(seconds=90)

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=False,
    remove_pis=False,
    remove_blank_text=False,
)


class Refused(Exception):
    """A SAML message keystile will not accept; the message says why, for the operator."""


@dataclass(frozen=True)
class Trust:
    """What one connection accepts: its IdP, its certificates, its own URLs and keys."""

    idp_entity_id: str
    certificates: list[str]  # PEM; several while an IdP rotates its key
    acs_urls: list[str]  # the connection's ACS URL (and its alternative)
    audiences: list[str]  # the audience URI (and its alternative)
    decryption_keys: list[str] = field(default_factory=list)  # PEM private keys


@dataclass(frozen=True)
class Assertion:
    """What a verified Response says about who logged in."""

    response_id: str
    assertion_id: str
    in_response_to: str | None
    name_id: str
    name_id_format: str | None
    attributes: dict[str, list[str]]
    session_index: str | None
    # The last moment anything in the response is valid: how long its ids must be remembered.
    valid_until: datetime


# --- outgoing: AuthnRequest and SP metadata -------------------------------------------------


def new_request_id(secret: str) -> str:
    """An AuthnRequest ID (an XML NCName) carrying the single-use secret that remembers it."""
    return "id-" + secret


def secret_of_request_id(request_id: str) -> str | None:
    return request_id[3:] if request_id.startswith("id-") and len(request_id) > 3 else None


def authn_request(
    *,
    request_id: str,
    issuer: str,
    destination: str,
    acs_url: str,
    nameid_format: str | None,
    now: datetime,
) -> bytes:
    """The AuthnRequest for an SP-initiated login (SAML core §3.4.1)."""
    root = etree.Element(
        f"{{{SAMLP}}}AuthnRequest",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=_instant(now),
        Destination=destination,
        AssertionConsumerServiceURL=acs_url,
        ProtocolBinding=BINDING_POST,
    )
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer
    policy = etree.SubElement(root, f"{{{SAMLP}}}NameIDPolicy", AllowCreate="true")
    if nameid_format:
        policy.set("Format", nameid_format)
    return bytes(etree.tostring(root))


def redirect_url(sso_url: str, request_xml: bytes, *, relay_state: str | None, signing_key_pem: str | None) -> str:
    """The IdP's SSO URL with the request in the HTTP-Redirect binding (bindings §3.4.4),
    signed over the query string when the connection has a signing key."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = deflater.compress(request_xml) + deflater.flush()
    params: list[tuple[str, str]] = [("SAMLRequest", base64.b64encode(deflated).decode())]
    if relay_state:
        params.append(("RelayState", relay_state))
    if signing_key_pem:
        params.append(("SigAlg", RSA_SHA256))
        key = serialization.load_pem_private_key(signing_key_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(urlencode(params).encode(), padding.PKCS1v15(), hashes.SHA256())
        params.append(("Signature", base64.b64encode(signature).decode()))
    return sso_url + ("&" if "?" in sso_url else "?") + urlencode(params)


def sp_metadata(
    *,
    entity_id: str,
    acs_url: str,
    nameid_format: str | None,
    signing_certificates: list[str],
    encryption_certificates: list[str],
) -> bytes:
    """The SP metadata an IdP imports (SAML metadata §2.4.4)."""
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS}, entityID=entity_id)
    sp = etree.SubElement(
        root,
        f"{{{MD}}}SPSSODescriptor",
        AuthnRequestsSigned="true" if signing_certificates else "false",
        WantAssertionsSigned="true",
        protocolSupportEnumeration=SAMLP,
    )
    for use, pems in (("signing", signing_certificates), ("encryption", encryption_certificates)):
        for pem in pems:
            descriptor = etree.SubElement(sp, f"{{{MD}}}KeyDescriptor", use=use)
            data = etree.SubElement(etree.SubElement(descriptor, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
            etree.SubElement(data, f"{{{DS}}}X509Certificate").text = certificate_body(pem)
    etree.SubElement(sp, f"{{{MD}}}NameIDFormat").text = nameid_format or NAMEID_EMAIL
    etree.SubElement(sp, f"{{{MD}}}AssertionConsumerService", Binding=BINDING_POST, Location=acs_url, index="0")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- certificates -----------------------------------------------------------------------------


def certificate_body(pem: str) -> str:
    """The base64 body of a PEM certificate, as metadata and signatures carry it."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def load_certificate(text: str) -> x509.Certificate:
    """A PEM certificate, or the bare base64 of one (as IdP metadata and consoles give it).
    Raises ValueError for anything else."""
    text = text.strip()
    if not text.startswith("-----BEGIN"):
        body = "".join(text.split())
        text = "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n"
    return x509.load_pem_x509_certificate(text.encode())


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def new_key_pair(common_name: str, now: datetime, *, years: int = 10) -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, both PEM (for a connection's
    request signing or assertion encryption)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private_key_pem(key), certificate_pem(self_signed(key, common_name, now, years=years))


def self_signed(key: rsa.RSAPrivateKey, common_name: str, now: datetime, *, years: int = 10) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * years))
        .sign(key, hashes.SHA256())
    )


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """An RSA private key in PEM (PKCS#1 or PKCS#8, unencrypted). Raises ValueError otherwise."""
    key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


# --- incoming: the Response -------------------------------------------------------------------


def decode_post(saml_response: str) -> bytes:
    """The XML of a SAMLResponse posted in the HTTP-POST binding (bindings §3.5.4)."""
    if len(saml_response) > MAX_RESPONSE_BYTES:
        raise Refused("The SAMLResponse is larger than keystile accepts.")
    try:
        return base64.b64decode("".join(saml_response.split()), validate=True)
    except ValueError:
        raise Refused("The SAMLResponse is not base64.") from None


def parse(xml: bytes) -> etree._Element:
    """Parse a message refusing what no IdP sends: DTDs (entity expansion), comments and
    processing instructions (a comment inside a signed NameID changes what a naive reader
    takes as its text while the signature still holds)."""
    try:
        tree = etree.fromstring(xml, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError:
        raise Refused("The SAML message is not well-formed XML.") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused("The SAML message declares a DTD.")
    root = tree.getroot()
    if any(True for _ in root.iter(etree.Comment, etree.ProcessingInstruction)):
        raise Refused("The SAML message contains an XML comment or processing instruction.")
    return root


def unverified_in_response_to(root: etree._Element) -> str | None:
    """The Response's InResponseTo, read before verification only to find the pending
    request it claims to answer; `verify` checks it again on the signed copy."""
    value = root.get("InResponseTo")
    return value or None


def verify(root: etree._Element, trust: Trust, *, now: datetime, request_id: str | None) -> Assertion:
    """Check a parsed Response (SAML core §3.2.2, profiles §4.1.4.3) and read its assertion.

    `request_id` is the ID of the AuthnRequest this answers (SP-initiated), or None for an
    IdP-initiated login, whose Response and assertion must then name no request."""
    if root.tag != f"{{{SAMLP}}}Response":
        raise Refused("The SAML message is not a Response.")
    _single_assertion(root)
    response = root
    response_signed = root.find("ds:Signature", NS) is not None
    if response_signed:
        response = _verified(root, trust.certificates)
    _status_success(response)
    _destination(response, trust)
    _issuer(response, trust, required=False)
    _in_response_to(response.get("InResponseTo"), request_id, "Response")

    assertion = _the_assertion(response, trust)
    if assertion.find("ds:Signature", NS) is not None:
        assertion = _verified(assertion, trust.certificates)
    elif not response_signed:
        raise Refused("Neither the Response nor its assertion is signed.")
    _issuer(assertion, trust, required=True)
    name_id, name_format, subject_until = _subject(assertion, trust, now=now, request_id=request_id)
    conditions_until = _conditions(assertion, trust, now=now)
    authn = assertion.find("saml:AuthnStatement", NS)
    if authn is None:
        raise Refused("The assertion has no AuthnStatement.")
    response_id, assertion_id = response.get("ID"), assertion.get("ID")
    if not response_id or not assertion_id:
        raise Refused("The Response or its assertion has no ID.")
    return Assertion(
        response_id=response_id,
        assertion_id=assertion_id,
        in_response_to=response.get("InResponseTo") or None,
        name_id=name_id,
        name_id_format=name_format,
        attributes=_attributes(assertion),
        session_index=authn.get("SessionIndex"),
        valid_until=max(subject_until, conditions_until or subject_until),
    )


def _single_assertion(root: etree._Element) -> None:
    """Exactly one assertion, plain or encrypted, anywhere in the document, and it is a child
    of the Response: an extra one hidden elsewhere is how signature wrapping starts."""
    found = list(root.iter(f"{{{SAML}}}Assertion", f"{{{SAML}}}EncryptedAssertion"))
    if len(found) != 1:
        raise Refused(f"The Response must hold exactly one assertion; it holds {len(found)}.")
    if found[0].getparent() is not root:
        raise Refused("The assertion is not a child of the Response.")


def _verified(element: etree._Element, certificates: list[str]) -> etree._Element:
    """The element as its enveloped signature covers it, checked against each trusted
    certificate in turn (an IdP rotating its key is trusted under both while they overlap)."""
    if not certificates:
        raise Refused("The connection has no verification certificate.")
    config = SignatureConfiguration(location="./", expect_references=1)
    standalone = etree.fromstring(etree.tostring(element), parser=_PARSER)
    reasons = set()
    for pem in certificates:
        try:
            result = XMLVerifier().verify(standalone, x509_cert=pem, expect_config=config)
        except (InvalidSignature, InvalidDigest, InvalidCertificate) as exc:
            reasons.add(type(exc).__name__)
            continue
        except InvalidInput as exc:
            raise Refused(f"The signature of the {_local(element)} is malformed: {exc}") from None
        signed = result.signed_xml  # type: ignore[union-attr]
        if signed is None or signed.tag != element.tag or signed.get("ID") != element.get("ID"):
            raise Refused(f"The signature of the {_local(element)} covers another element.")
        return signed
    raise Refused(f"The signature of the {_local(element)} does not verify with any of the connection's certificates.")


def _status_success(response: etree._Element) -> None:
    code = response.find("samlp:Status/samlp:StatusCode", NS)
    if code is None or code.get("Value") != STATUS_SUCCESS:
        value = code.get("Value") if code is not None else "none"
        raise Refused(f"The IdP answered with status {value}.")


def _destination(response: etree._Element, trust: Trust) -> None:
    destination = response.get("Destination")
    if destination is not None and destination not in trust.acs_urls:
        raise Refused("The Response is addressed to another Destination.")


def _issuer(element: etree._Element, trust: Trust, *, required: bool) -> None:
    issuer = element.find("saml:Issuer", NS)
    if issuer is None:
        if required:
            raise Refused("The assertion names no Issuer.")
        return
    if (issuer.text or "").strip() != trust.idp_entity_id:
        raise Refused("The Issuer is not the connection's IdP entity ID.")


def _in_response_to(value: str | None, request_id: str | None, where: str) -> None:
    if request_id is None:
        if value:
            raise Refused(f"The {where} answers a request keystile does not know.")
    elif value != request_id:
        raise Refused(f"The {where} answers another request.")


def _the_assertion(response: etree._Element, trust: Trust) -> etree._Element:
    plain = response.find("saml:Assertion", NS)
    if plain is not None:
        return plain
    encrypted = response.find("saml:EncryptedAssertion", NS)
    if encrypted is None:
        raise Refused("The Response holds no assertion.")
    if not trust.decryption_keys:
        raise Refused("The assertion is encrypted and the connection has no encryption key.")
    for pem in trust.decryption_keys:
        try:
            plaintext = decrypt(encrypted, load_private_key(pem))
        except (ValueError, InvalidTag):
            continue
        assertion = parse(plaintext)
        if assertion.tag != f"{{{SAML}}}Assertion":
            raise Refused("The encrypted element is not an assertion.")
        if sum(1 for _ in assertion.iter(f"{{{SAML}}}Assertion", f"{{{SAML}}}EncryptedAssertion")) != 1:
            raise Refused("The encrypted assertion holds another assertion.")
        return assertion
    raise Refused("The encrypted assertion does not decrypt with the connection's encryption keys.")


def _subject(
    assertion: etree._Element, trust: Trust, *, now: datetime, request_id: str | None
) -> tuple[str, str | None, datetime]:
    subject = assertion.find("saml:Subject", NS)
    if subject is None:
        raise Refused("The assertion has no Subject.")
    name_id = subject.find("saml:NameID", NS)
    if name_id is None or len(name_id):
        raise Refused("The assertion's Subject has no plain NameID.")
    value = (name_id.text or "").strip()
    if not value:
        raise Refused("The assertion's NameID is empty.")
    confirmations = [
        c.find("saml:SubjectConfirmationData", NS)
        for c in subject.findall("saml:SubjectConfirmation", NS)
        if c.get("Method") == BEARER
    ]
    reasons = []
    for data in confirmations:
        if data is None:
            reasons.append("a bearer confirmation carries no data")
            continue
        if data.get("Recipient") not in trust.acs_urls:
            reasons.append("it is meant for another Recipient")
            continue
        until = _time(data.get("NotOnOrAfter"))
        if until is None:
            reasons.append("its bearer confirmation has no NotOnOrAfter")
            continue
        if now >= until + CLOCK_SKEW:
            reasons.append("its bearer confirmation expired")
            continue
        not_before = _time(data.get("NotBefore"))
        if not_before is not None and now + CLOCK_SKEW < not_before:
            reasons.append("its bearer confirmation is not valid yet")
            continue
        try:
            _in_response_to(data.get("InResponseTo"), request_id, "assertion")
        except Refused as exc:
            reasons.append(str(exc))
            continue
        return value, name_id.get("Format"), until
    why = "; ".join(reasons) or "it has no bearer confirmation"
    raise Refused(f"The assertion's subject cannot be confirmed: {why}.")


def _conditions(assertion: etree._Element, trust: Trust, *, now: datetime) -> datetime | None:
    conditions = assertion.find("saml:Conditions", NS)
    if conditions is None:
        raise Refused("The assertion has no Conditions.")
    not_before = _time(conditions.get("NotBefore"))
    if not_before is not None and now + CLOCK_SKEW < not_before:
        raise Refused("The assertion is not valid yet (NotBefore).")
    until = _time(conditions.get("NotOnOrAfter"))
    if until is not None and now >= until + CLOCK_SKEW:
        raise Refused("The assertion expired (NotOnOrAfter).")
    restrictions = conditions.findall("saml:AudienceRestriction", NS)
    if not restrictions:
        raise Refused("The assertion names no audience.")
    for restriction in restrictions:
        audiences = {(a.text or "").strip() for a in restriction.findall("saml:Audience", NS)}
        if not audiences & set(trust.audiences):
            raise Refused("The assertion is meant for another audience.")
    return until


def _attributes(assertion: etree._Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attribute in assertion.iterfind("saml:AttributeStatement/saml:Attribute", NS):
        name = attribute.get("Name")
        if not name:
            continue
        values = found.setdefault(name, [])
        for value in attribute.findall("saml:AttributeValue", NS):
            text = "".join(value.itertext()).strip()
            if text:
                values.append(text)
    return found


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"{value!r} is not an xs:dateTime.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _instant(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


# --- XML Encryption -----------------------------------------------------------------------------

_BLOCK_CIPHERS: dict[str, tuple[Any, int]] = {
    XENC + "aes128-cbc": (algorithms.AES, 16),
    XENC + "aes192-cbc": (algorithms.AES, 16),
    XENC + "aes256-cbc": (algorithms.AES, 16),
    XENC + "tripledes-cbc": (TripleDES, 8),
}
_GCM = {XENC11 + "aes128-gcm", XENC11 + "aes192-gcm", XENC11 + "aes256-gcm"}
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    DS + "sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
_MGFS: dict[str, type[hashes.HashAlgorithm]] = {
    XENC11 + "mgf1sha1": hashes.SHA1,
    XENC11 + "mgf1sha256": hashes.SHA256,
    XENC11 + "mgf1sha384": hashes.SHA384,
    XENC11 + "mgf1sha512": hashes.SHA512,
}


def decrypt(encrypted: etree._Element, key: rsa.RSAPrivateKey) -> bytes:
    """The plaintext of an EncryptedAssertion (XML Encryption 1.1 §4): the content key is
    RSA-OAEP wrapped (RSA 1.5 is refused: it is a padding oracle), the content AES or 3DES.
    Raises ValueError (or InvalidTag) when it does not decrypt."""
    data = encrypted.find("xenc:EncryptedData", NS)
    if data is None:
        raise ValueError("no EncryptedData")
    method = data.find("xenc:EncryptionMethod", NS)
    algorithm = method.get("Algorithm", "") if method is not None else ""
    content_key = _unwrap_key(encrypted, key)
    cipher_value = data.find("xenc:CipherData/xenc:CipherValue", NS)
    if cipher_value is None or not cipher_value.text:
        raise ValueError("no CipherValue")
    blob = base64.b64decode("".join(cipher_value.text.split()))
    if algorithm in _GCM:
        return AESGCM(content_key).decrypt(blob[:12], blob[12:], None)
    if algorithm not in _BLOCK_CIPHERS:
        raise ValueError(f"content encryption {algorithm!r} is not supported")
    cipher_class, block = _BLOCK_CIPHERS[algorithm]
    if len(blob) < 2 * block or len(blob) % block:
        raise ValueError("ciphertext length")
    decryptor = Cipher(cipher_class(content_key), modes.CBC(blob[:block])).decryptor()
    padded = decryptor.update(blob[block:]) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= block:
        raise ValueError("padding")
    return padded[:-pad]


def _unwrap_key(encrypted: etree._Element, key: rsa.RSAPrivateKey) -> bytes:
    wrapped = encrypted.find(".//xenc:EncryptedKey", NS)
    if wrapped is None:
        raise ValueError("no EncryptedKey")
    method = wrapped.find("xenc:EncryptionMethod", NS)
    if method is None:
        raise ValueError("no key transport method")
    algorithm = method.get("Algorithm", "")
    digest_method = method.find("ds:DigestMethod", NS)
    digest = _DIGESTS.get(digest_method.get("Algorithm", "") if digest_method is not None else DS + "sha1")
    if digest is None:
        raise ValueError("key transport digest is not supported")
    if algorithm == XENC + "rsa-oaep-mgf1p":
        mgf: type[hashes.HashAlgorithm] = hashes.SHA1
    elif algorithm == XENC11 + "rsa-oaep":
        mgf_element = method.find("xenc11:MGF", NS)
        found = _MGFS.get(mgf_element.get("Algorithm", "")) if mgf_element is not None else hashes.SHA1
        if found is None:
            raise ValueError("key transport MGF is not supported")
        mgf = found
    else:
        raise ValueError(f"key transport {algorithm!r} is not supported")
    value = wrapped.find("xenc:CipherData/xenc:CipherValue", NS)
    if value is None or not value.text:
        raise ValueError("no wrapped key")
    oaep = padding.OAEP(mgf=padding.MGF1(mgf()), algorithm=digest(), label=None)
    return key.decrypt(base64.b64decode("".join(value.text.split())), oaep)
