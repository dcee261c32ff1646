"""SSO: organizations' OIDC, SAML and external connections, and logins through them.

How a connection kind plugs in (docs/decisions/0018):

- Its module defines `KIND = service.Kind(name, list_key, serialize, start, callback)` and
  `sso/kinds.py` registers it. `serialize(ctx, row)` is Stytch's connection object;
  `get_connections` lists it under `list_key`; `delete_connection` works for every kind.
- Connections are stored with `service.create(ctx, org, kind, status=…, display_name=…,
  identity_provider=…, config={…}, secrets={name: clear value})` and changed with
  `service.update(ctx, row, secrets={name: value or None}, **columns)`; secrets are sealed
  there and read back with `service.unseal(ctx, row, name)`. Both keep the organization's
  `sso_active_connections` / `sso_default_connection_id` in step (status "active" counts).
- `start(ctx, connection, flow, options)`: put what the callback must check in the flow
  (`state, browser = await login.open_flow(ctx, replace(flow, data={...}))`), return
  `(idp_url, state, browser)`. The start route sets the browser cookie.
- `callback(request, ctx, connection)` (the route `/v1/b2b/sso/callback/{connection_id}`,
  GET or POST, with the connection's project as `ctx`): take the flow back with
  `await login.redeem_flow(ctx, state, connection, browser)` (single use, browser-bound;
  `browser = request.cookies.get(login.flow_cookie(state))`), verify the IdP's answer, and
  return `(login.Identity(email, external_id, name, attributes, groups,
  delivery_method="sso_saml"), flow)`; an IdP-initiated login returns `flow=None`. A Stytch
  error raised here is answered as is and the spent flow stays spent.
- `Kind.granted_roles(connection, groups)` (optional): the `granted_roles` entries a login
  through the connection grants (`service.implicit_roles` builds them from role and group
  assignments); `sso.authenticate` replaces the Member's entries of that connection with them.
- `login.finish_login(ctx, connection, identity, flow)` does the rest for every kind (the
  `sso` token, the app's login or signup URL with `stytch_token_type=sso`); `sso.authenticate`
  applies the organization's rules and `sessions/logins.py complete_primary`.
"""
