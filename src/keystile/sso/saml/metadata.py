"""An IdP's SAML metadata, as `sso.saml.update_by_url` reads it (fetched by core/outbound.py:
a timeout, a size limit, no private addresses unless the operator allows them)."""

from __future__ import annotations

from dataclasses import dataclass

from keystile.sso.saml import protocol
from keystile.sso.saml.protocol import MD, NS, Refused

MAX_METADATA_BYTES = 1024 * 1024


@dataclass(frozen=True)
class IdPMetadata:
    entity_id: str
    sso_url: str
    certificates: list[str]  # PEM, signing (or unqualified) keys


class MetadataError(Exception):
    """Metadata that cannot be fetched or read; the message says why, for the caller."""


def read(xml: bytes) -> IdPMetadata:
    """The first IdP in an EntityDescriptor (or EntitiesDescriptor): its entity ID, its SSO
    URL (HTTP-Redirect preferred, HTTP-POST otherwise) and its signing certificates."""
    try:
        root = protocol.parse(xml)
    except Refused as exc:
        raise MetadataError(str(exc)) from None
    entity = root if root.tag == f"{{{MD}}}EntityDescriptor" else None
    if entity is None and root.tag == f"{{{MD}}}EntitiesDescriptor":
        entity = next(
            (e for e in root.iter(f"{{{MD}}}EntityDescriptor") if e.find("md:IDPSSODescriptor", NS) is not None), None
        )
    if entity is None:
        raise MetadataError("The document is not SAML metadata (no EntityDescriptor).")
    idp = entity.find("md:IDPSSODescriptor", NS)
    entity_id = entity.get("entityID")
    if idp is None or not entity_id:
        raise MetadataError("The metadata describes no identity provider (IDPSSODescriptor).")
    services = {s.get("Binding"): s.get("Location") for s in idp.findall("md:SingleSignOnService", NS)}
    sso_url = services.get(protocol.BINDING_REDIRECT) or services.get(protocol.BINDING_POST)
    if not sso_url:
        raise MetadataError("The metadata names no HTTP-Redirect or HTTP-POST SingleSignOnService.")
    certificates = []
    for descriptor in idp.findall("md:KeyDescriptor", NS):
        if descriptor.get("use") not in (None, "signing"):
            continue
        for value in descriptor.iterfind(".//ds:X509Certificate", NS):
            try:
                pem = protocol.certificate_pem(protocol.load_certificate(value.text or ""))
            except ValueError:
                raise MetadataError("A certificate in the metadata cannot be read.") from None
            if pem not in certificates:
                certificates.append(pem)
    return IdPMetadata(entity_id=entity_id, sso_url=sso_url, certificates=certificates)
