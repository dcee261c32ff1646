"""An IdP's SAML metadata: read from XML, or fetched from the URL an IdP publishes it at
(`sso.saml.update_by_url`) with a timeout, a size limit and no private addresses unless
the operator allows them."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from keystile.sso.saml import protocol
from keystile.sso.saml.protocol import MD, NS, Refused

MAX_METADATA_BYTES = 1024 * 1024
FETCH_TIMEOUT_SECONDS = 10.0


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


async def fetch(url: str, *, allow_private: bool, seconds: float = FETCH_TIMEOUT_SECONDS) -> bytes:
    """GET the metadata at `url`: http(s) only, no redirects, at most MAX_METADATA_BYTES,
    `seconds` in all, and a host resolving to a private, loopback or link-local
    address is refused unless `allow_private`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetadataError("metadata_url must be an http or https URL.")
    if not allow_private:
        await _public_only(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    try:
        async with (
            asyncio.timeout(seconds),
            httpx.AsyncClient(follow_redirects=False, timeout=seconds) as client,
            client.stream("GET", url, headers={"Accept": "application/samlmetadata+xml, */*"}) as answer,
        ):
            if answer.status_code != 200:
                raise MetadataError(f"Fetching the metadata answered HTTP {answer.status_code}.")
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_METADATA_BYTES:
                    raise MetadataError("The metadata is larger than keystile accepts.")
            return bytes(body)
    except TimeoutError:
        raise MetadataError("Fetching the metadata timed out.") from None
    except httpx.HTTPError as exc:
        raise MetadataError(f"The metadata could not be fetched ({type(exc).__name__}).") from None


async def _public_only(host: str, port: int) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise MetadataError("The metadata URL's host does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise MetadataError(
                "The metadata URL's host is a private, loopback or reserved address; "
                "the operator allows those with KEYSTILE_SSO_METADATA_ALLOW_PRIVATE_ADDRESSES."
            )
