"""SAML connections (stytch.com/docs/b2b/api/saml-connection-object): create, update, update
from the IdP's metadata URL, delete a verification certificate or an encryption key; the SP
metadata an IdP imports; and the `saml` kind of sso/service.py: an SP-initiated login's
AuthnRequest, and the IdP's Response at the connection's ACS URL, checked by
sso/saml/protocol.py and finished by sso/login.py `finish_login`.

A connection's SAML settings are its row's `config` (sso/service.py): the IdP's entity ID and
SSO URL, the attribute mapping, the role assignments, and its certificates as lists —
`verification_certificates` (the IdP's, several while it rotates its key),
`signing_certificates` (keystile's, for signed AuthnRequests) and `encryption_keys` (the
certificates of the keys IdPs encrypt assertions to). The private keys are secrets of the
row, sealed with the master key (`signing_key:<id>`, `encryption_key:<id>`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from keystile import errors
from keystile.core import ids, outbound
from keystile.core.clock import rfc3339_seconds
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.sso import guards, login, urls
from keystile.sso import repository as sso_repository
from keystile.sso import service as connections
from keystile.sso.errors import ConnectionNotFound, IdentityProviderError
from keystile.sso.saml import metadata, protocol, repository
from keystile.sso.saml.protocol import Refused

if TYPE_CHECKING:
    from fastapi import Request

KIND_NAME = "saml"
CERTIFICATE_PREFIX = "saml-certificate"
PRIVATE_KEY_PREFIX = "saml-encryption-key"
ATTRIBUTE_KEYS = ("email", "first_name", "last_name", "full_name", "groups")
REDACTED = "-----BEGIN PRIVATE KEY-----\n(sealed; keystile never shows it again)\n-----END PRIVATE KEY-----\n"
METADATA_PATH = "/v1/b2b/sso/saml/metadata/{connection_id}"


# --- URLs -----------------------------------------------------------------------------------


def acs_url(ctx: Context, connection_id: str) -> str:
    """The connection's Assertion Consumer Service: its callback URL (sso/urls.py)."""
    return urls.callback_url(ctx.state.settings.base_url, connection_id)


def audience_uri(ctx: Context, connection_id: str) -> str:
    """keystile's entity ID for the connection: the URL of its SP metadata."""
    return ctx.state.settings.base_url + METADATA_PATH.format(connection_id=connection_id).lstrip("/")


def trust(ctx: Context, row: Record) -> protocol.Trust:
    config = row.config or {}
    return protocol.Trust(
        idp_entity_id=str(config.get("idp_entity_id") or ""),
        certificates=[c["certificate"] for c in config.get("verification_certificates") or []],
        acs_urls=[u for u in (acs_url(ctx, row.connection_id), config.get("alternative_acs_url")) if u],
        audiences=[u for u in (audience_uri(ctx, row.connection_id), config.get("alternative_audience_uri")) if u],
        decryption_keys=[
            connections.unseal(ctx, row, f"encryption_key:{k['private_key_id']}")
            for k in config.get("encryption_keys") or []
        ],
    )


# --- the connection object -------------------------------------------------------------------


def serialize(ctx: Context, row: Record) -> dict[str, Any]:
    """Stytch's SAMLConnection (PY `stytch/b2b/models/sso.py`)."""
    config = row.config or {}
    return {
        "organization_id": row.organization_id,
        "connection_id": row.connection_id,
        "status": row.status,
        "idp_entity_id": config.get("idp_entity_id") or "",
        "display_name": row.display_name,
        "idp_sso_url": config.get("idp_sso_url") or "",
        "acs_url": acs_url(ctx, row.connection_id),
        "audience_uri": audience_uri(ctx, row.connection_id),
        "signing_certificates": [_certificate_json(c) for c in config.get("signing_certificates") or []],
        "verification_certificates": [_certificate_json(c) for c in config.get("verification_certificates") or []],
        "encryption_private_keys": [
            {"private_key_id": k["private_key_id"], "private_key": REDACTED, "created_at": k["created_at"]}
            for k in config.get("encryption_keys") or []
        ],
        "saml_connection_implicit_role_assignments": list(config.get("connection_roles") or []),
        "saml_group_implicit_role_assignments": list(config.get("group_roles") or []),
        "alternative_audience_uri": config.get("alternative_audience_uri") or "",
        "identity_provider": row.identity_provider,
        "nameid_format": config.get("nameid_format") or protocol.NAMEID_EMAIL,
        "alternative_acs_url": config.get("alternative_acs_url") or "",
        "idp_initiated_auth_disabled": bool(config.get("idp_initiated_auth_disabled", False)),
        "allow_gateway_callback": bool(config.get("allow_gateway_callback", False)),
        "attribute_mapping": dict(config.get("attribute_mapping") or {}),
    }


def _certificate_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        k: entry.get(k) for k in ("certificate_id", "certificate", "issuer", "created_at", "expires_at", "updated_at")
    }


def _certificate_entry(ctx: Context, pem: str, *, issuer: str | None = None) -> dict[str, Any]:
    """A certificate as the connection keeps it; `pem` must parse (ValueError otherwise)."""
    cert = protocol.load_certificate(pem)
    now = rfc3339_seconds(ctx.clock.now())
    return {
        "certificate_id": ids.new_id(CERTIFICATE_PREFIX, ctx.live),
        "certificate": protocol.certificate_pem(cert),
        "issuer": issuer if issuer is not None else cert.issuer.rfc4514_string(),
        "created_at": now,
        "updated_at": now,
        "expires_at": rfc3339_seconds(cert.not_valid_after_utc),
    }


def _status(config: dict[str, Any]) -> str:
    """Active once the IdP is known: its entity ID, its SSO URL and a certificate to verify it."""
    ready = config.get("idp_entity_id") and config.get("idp_sso_url") and config.get("verification_certificates")
    return connections.ACTIVE if ready else connections.PENDING


# --- endpoints -------------------------------------------------------------------------------


async def create_connection(
    ctx: Context, organization_ref: str, *, display_name: str | None, identity_provider: str | None
) -> dict[str, Any]:
    """A pending SAML connection with a fresh signing key (stytch.com/docs/b2b/api/create-saml-connection)."""
    connections.check_display_name(display_name)
    provider = connections.identity_provider(identity_provider)
    org = await connections.organization(ctx, organization_ref)
    await guards.sso_action(ctx, org, "create")
    connection_id = connections.new_connection_id(ctx, KIND_NAME)
    key_pem, cert_pem = protocol.new_key_pair("keystile", ctx.clock.now())
    signing = _certificate_entry(ctx, cert_pem, issuer="keystile")
    row = await connections.create(
        ctx,
        org,
        KIND_NAME,
        connection_id=connection_id,
        status=connections.PENDING,
        display_name=display_name or "",
        identity_provider=provider,
        config={"signing_certificates": [signing], "nameid_format": protocol.NAMEID_EMAIL},
        secrets={f"signing_key:{signing['certificate_id']}": key_pem},
    )
    return serialize(ctx, row)


async def update_connection(
    ctx: Context, organization_ref: str, connection_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change a SAML connection (stytch.com/docs/b2b/api/update-saml-connection). A new
    `x509_certificate` is added beside the ones already trusted (rotation with overlap:
    delete the old one once the IdP signs with the new); a new encryption key is added
    beside the others; a new signing key replaces keystile's signing certificate."""
    org = await connections.organization(ctx, organization_ref)
    row = await connections.get(ctx, org.organization_id, connection_id, kind=KIND_NAME, lock=True)
    await guards.sso_action(ctx, org, "update")
    config = dict(row.config or {})
    secrets: dict[str, str | None] = {}
    values: dict[str, Any] = {}

    if changes.get("display_name") is not None:
        connections.check_display_name(changes["display_name"])
        values["display_name"] = changes["display_name"]
    if changes.get("identity_provider") is not None:
        values["identity_provider"] = connections.identity_provider(changes["identity_provider"])
    for name in ("idp_entity_id", "alternative_audience_uri", "alternative_acs_url", "nameid_format"):
        if changes.get(name) is not None:
            config[name] = changes[name].strip()
    if changes.get("idp_sso_url") is not None:
        config["idp_sso_url"] = _http_url(changes["idp_sso_url"], "idp_sso_url")
    for name in ("alternative_acs_url", "alternative_audience_uri"):
        if config.get(name):
            _http_url(config[name], name)
    for name in ("idp_initiated_auth_disabled", "allow_gateway_callback"):
        if changes.get(name) is not None:
            config[name] = bool(changes[name])
    if changes.get("attribute_mapping") is not None:
        config["attribute_mapping"] = _attribute_mapping(changes["attribute_mapping"])
    if changes.get("saml_connection_implicit_role_assignments") is not None:
        config["connection_roles"] = [
            {"role_id": r["role_id"]} for r in changes["saml_connection_implicit_role_assignments"]
        ]
    if changes.get("saml_group_implicit_role_assignments") is not None:
        config["group_roles"] = [
            {"role_id": r["role_id"], "group": r["group"]} for r in changes["saml_group_implicit_role_assignments"]
        ]
    if changes.get("x509_certificate"):
        config["verification_certificates"] = _add_verification(ctx, config, changes["x509_certificate"])
    if changes.get("signing_private_key"):
        key_pem = _private_key(changes["signing_private_key"], "signing_private_key")
        cert_pem = protocol.certificate_pem(
            protocol.self_signed(protocol.load_private_key(key_pem), "keystile", ctx.clock.now())
        )
        entry = _certificate_entry(ctx, cert_pem, issuer="keystile")
        for old in config.get("signing_certificates") or []:
            secrets[f"signing_key:{old['certificate_id']}"] = None
        config["signing_certificates"] = [entry]
        secrets[f"signing_key:{entry['certificate_id']}"] = key_pem
    if changes.get("saml_encryption_private_key"):
        key_pem = _private_key(changes["saml_encryption_private_key"], "saml_encryption_private_key")
        private_key_id = ids.new_id(PRIVATE_KEY_PREFIX, ctx.live)
        cert_pem = protocol.certificate_pem(
            protocol.self_signed(protocol.load_private_key(key_pem), "keystile", ctx.clock.now())
        )
        config["encryption_keys"] = [
            *(config.get("encryption_keys") or []),
            {"private_key_id": private_key_id, "certificate": cert_pem, "created_at": rfc3339_seconds(ctx.clock.now())},
        ]
        secrets[f"encryption_key:{private_key_id}"] = key_pem
    values["config"] = config
    values["status"] = _status(config)
    updated = await connections.update(ctx, row, secrets=secrets or None, **values)
    return serialize(ctx, updated)


async def update_by_url(ctx: Context, organization_ref: str, connection_id: str, metadata_url: str) -> dict[str, Any]:
    """Take the IdP's entity ID, SSO URL and signing certificates from its metadata URL
    (stytch.com/docs/b2b/api/update-saml-connection-url)."""
    org = await connections.organization(ctx, organization_ref)
    row = await connections.get(ctx, org.organization_id, connection_id, kind=KIND_NAME, lock=True)
    await guards.sso_action(ctx, org, "update")
    try:
        reply = await outbound.request(
            ctx.state.settings,
            "GET",
            metadata_url,
            headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"},
            max_bytes=metadata.MAX_METADATA_BYTES,
        )
        if reply.status_code != 200:
            raise metadata.MetadataError(f"{metadata_url} answered {reply.status_code}")
        found = metadata.read(reply.body)
    except (outbound.OutboundError, metadata.MetadataError) as exc:
        raise errors.InvalidArgument(f"metadata_url: {exc}") from None
    config = dict(row.config or {})
    config["idp_entity_id"] = found.entity_id
    config["idp_sso_url"] = found.sso_url
    for pem in found.certificates:
        config["verification_certificates"] = _add_verification(ctx, config, pem)
    updated = await connections.update(ctx, row, config=config, status=_status(config))
    return serialize(ctx, updated)


async def delete_verification_certificate(
    ctx: Context, organization_ref: str, connection_id: str, certificate_id: str
) -> str:
    """Stop trusting one of the IdP's certificates (stytch.com/docs/b2b/api/delete-verification-certificate)."""
    org = await connections.organization(ctx, organization_ref)
    row = await connections.get(ctx, org.organization_id, connection_id, kind=KIND_NAME, lock=True)
    await guards.sso_action(ctx, org, "delete")
    config = dict(row.config or {})
    kept = [c for c in config.get("verification_certificates") or [] if c["certificate_id"] != certificate_id]
    if len(kept) == len(config.get("verification_certificates") or []):
        raise errors.InvalidArgument("No verification certificate with this certificate_id on this connection.")
    config["verification_certificates"] = kept
    await connections.update(ctx, row, config=config, status=_status(config))
    return certificate_id


async def delete_encryption_private_key(
    ctx: Context, organization_ref: str, connection_id: str, private_key_id: str
) -> str:
    """Forget one of the connection's encryption keys (stytch.com/docs/b2b/api/delete-encryption-private-key)."""
    org = await connections.organization(ctx, organization_ref)
    row = await connections.get(ctx, org.organization_id, connection_id, kind=KIND_NAME, lock=True)
    await guards.sso_action(ctx, org, "delete")
    config = dict(row.config or {})
    kept = [k for k in config.get("encryption_keys") or [] if k["private_key_id"] != private_key_id]
    if len(kept) == len(config.get("encryption_keys") or []):
        raise errors.InvalidArgument("No encryption private key with this private_key_id on this connection.")
    config["encryption_keys"] = kept
    await connections.update(ctx, row, config=config, secrets={f"encryption_key:{private_key_id}": None})
    return private_key_id


def _add_verification(ctx: Context, config: dict[str, Any], pem: str) -> list[dict[str, Any]]:
    try:
        entry = _certificate_entry(ctx, pem)
    except ValueError:
        raise errors.InvalidArgument("x509_certificate must be an X.509 certificate in PEM format.") from None
    current = list(config.get("verification_certificates") or [])
    if any(c["certificate"] == entry["certificate"] for c in current):
        return current
    return [*current, entry]


def _private_key(pem: str, field: str) -> str:
    try:
        key = protocol.load_private_key(pem)
    except (ValueError, TypeError):
        raise errors.InvalidArgument(f"{field} must be an unencrypted RSA private key in PEM format.") from None
    if key.key_size < 2048:
        raise errors.InvalidArgument(f"{field} must be an RSA key of at least 2048 bits.")
    return protocol.private_key_pem(key)


def _http_url(value: str, field: str) -> str:
    value = value.strip()
    if not value.startswith(("https://", "http://")):
        raise errors.InvalidArgument(f"{field} must be an http(s) URL.")
    return value


def _attribute_mapping(mapping: dict[str, Any]) -> dict[str, str]:
    """Stytch's keys (email, first_name, last_name, full_name, groups) and any custom ones,
    each naming one of the IdP's attributes."""
    checked = {}
    for key, value in mapping.items():
        if not isinstance(value, str):
            raise errors.InvalidArgument(f"attribute_mapping.{key} must name one of the IdP's attributes (a string).")
        checked[str(key)] = value
    return checked


# --- SP metadata -------------------------------------------------------------------------------


async def sp_metadata(ctx: Context, connection_id: str) -> bytes:
    """The SP metadata of a connection: what an IdP imports to trust keystile."""
    row = await sso_repository.find(ctx.conn, ctx.project_id, connection_id)
    if row is None or row.kind != KIND_NAME:
        raise ConnectionNotFound()
    config = row.config or {}
    return protocol.sp_metadata(
        entity_id=audience_uri(ctx, row.connection_id),
        acs_url=acs_url(ctx, row.connection_id),
        nameid_format=config.get("nameid_format"),
        signing_certificates=[c["certificate"] for c in config.get("signing_certificates") or []],
        encryption_certificates=[k["certificate"] for k in config.get("encryption_keys") or []],
    )


# --- the login -------------------------------------------------------------------------------


async def start(ctx: Context, connection: Record, flow: login.Flow, options: dict[str, str]) -> tuple[str, str, str]:
    """SP-initiated: open the flow, whose state is the RelayState and whose secret part is the
    AuthnRequest's ID, and send the browser to the IdP with a signed AuthnRequest."""
    config = connection.config or {}
    if flow.connection_id != connection.connection_id:
        # An external connection's login, through this connection's IdP and ACS.
        flow = replace(flow, data={**flow.data, "via": connection.connection_id})
    state, browser = await login.open_flow(ctx, flow)
    request_id = protocol.new_request_id(state)
    signing = (config.get("signing_certificates") or [None])[0]
    key = connections.unseal(ctx, connection, f"signing_key:{signing['certificate_id']}") if signing else ""
    xml = protocol.authn_request(
        request_id=request_id,
        issuer=audience_uri(ctx, connection.connection_id),
        destination=str(config["idp_sso_url"]),
        acs_url=acs_url(ctx, connection.connection_id),
        nameid_format=config.get("nameid_format"),
        now=ctx.clock.now(),
    )
    url = protocol.redirect_url(str(config["idp_sso_url"]), xml, relay_state=state, signing_key_pem=key or None)
    return url, state, browser


async def callback(request: Request, ctx: Context, connection: Record) -> tuple[login.Identity, login.Flow | None]:
    """The IdP's Response posted to the ACS URL: verified, its IDs remembered (single use),
    mapped to an Identity. SP-initiated when it answers a request (InResponseTo names a live
    flow of this connection), IdP-initiated otherwise, if the connection allows those."""
    fields = await _posted_form(request)
    posted = fields.get("SAMLResponse", "")
    if not posted:
        raise IdentityProviderError("The IdP's answer carries no SAMLResponse.")
    config = connection.config or {}
    try:
        root = protocol.parse(protocol.decode_post(posted))
        claimed = protocol.unverified_in_response_to(root)
        flow = None
        if claimed is not None:
            state = protocol.secret_of_request_id(claimed)
            if state is None:
                raise Refused("The Response answers a request keystile did not send.")
            cookie = request.cookies.get(login.flow_cookie(state))
            if cookie is None and fields.get(login.Rebind.MARK) != "1":
                # Posted cross-site by the IdP's page: the browser withheld the flow cookie.
                raise login.Rebind({k: v for k, v in fields.items() if k in ("SAMLResponse", "RelayState")})
            flow = await login.redeem_flow(ctx, state, connection, cookie)
        elif config.get("idp_initiated_auth_disabled"):
            raise Refused("This connection does not allow IdP-initiated logins.")
        assertion = protocol.verify(root, trust(ctx, connection), now=ctx.clock.now(), request_id=claimed)
    except Refused as exc:
        raise IdentityProviderError(f"The SAML response was refused: {exc}") from None
    now = ctx.clock.now()
    await repository.forget_expired(ctx.conn, ctx.project_id, now)
    fresh = await repository.remember(
        ctx.conn,
        ctx.project_id,
        connection.connection_id,
        [f"response:{assertion.response_id}", f"assertion:{assertion.assertion_id}"],
        expires_at=max(assertion.valid_until, now) + protocol.CLOCK_SKEW + timedelta(minutes=1),
    )
    if not fresh:
        raise IdentityProviderError("The SAML response was refused: it was already used (a replay).")
    return identity(connection, assertion), flow


async def _posted_form(request: Request) -> dict[str, str]:
    """The fields of the HTTP-POST binding's form (urlencoded, as every IdP posts), each once."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise IdentityProviderError("The IdP's answer is not a posted form (HTTP-POST binding).")
    try:
        fields = parse_qs((await request.body()).decode("ascii"), max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        raise IdentityProviderError("The IdP's answer is not a readable form.") from None
    if any(len(values) != 1 for values in fields.values()):
        raise IdentityProviderError("The IdP's answer repeats a field.")
    return {name: values[0] for name, values in fields.items()}


def identity(connection: Record, assertion: protocol.Assertion) -> login.Identity:
    """Who the assertion names, through the connection's attribute mapping: `email` (else the
    NameID), the name from `full_name` or `first_name` + `last_name`, and `groups`."""
    mapping = (connection.config or {}).get("attribute_mapping") or {}
    attributes = assertion.attributes

    def first(key: str) -> str:
        name = mapping.get(key)
        values = attributes.get(name, []) if name else []
        return values[0] if values else ""

    email = first("email") or assertion.name_id
    name = first("full_name") or " ".join(p for p in (first("first_name"), first("last_name")) if p)
    groups_attribute = mapping.get("groups")
    groups = tuple(attributes.get(groups_attribute, [])) if groups_attribute else ()
    return login.Identity(
        email=email.strip().lower(),
        external_id=assertion.name_id,
        name=name,
        attributes={k: v[0] if len(v) == 1 else v for k, v in attributes.items()},
        groups=groups,
        delivery_method="sso_saml",
    )


def granted_roles(connection: Record, groups: list[str]) -> list[dict[str, Any]]:
    """The roles a login through this connection grants (members' `granted_roles` entries):
    every `saml_connection_implicit_role_assignments` role, and the roles of the
    `saml_group_implicit_role_assignments` whose group the IdP listed."""
    config = connection.config or {}
    cid = connection.connection_id
    entries = [
        {"role_id": r["role_id"], "source": {"type": "sso_connection", "details": {"connection_id": cid}}}
        for r in config.get("connection_roles") or []
    ]
    entries += [
        {
            "role_id": r["role_id"],
            "source": {"type": "sso_connection_group", "details": {"connection_id": cid, "group": r["group"]}},
        }
        for r in config.get("group_roles") or []
        if r["group"] in groups
    ]
    return entries


KIND = connections.Kind(
    name=KIND_NAME,
    list_key="saml_connections",
    serialize=serialize,
    start=start,
    callback=callback,
    granted_roles=granted_roles,
)
