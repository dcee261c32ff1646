"""Impersonation: a person on the project's team signs in as a Member or a User to see what
they see. `keystile impersonate` mints the single-use token (Stytch mints it in its dashboard);
`impersonation.authenticate` (B2B and consumer) turns it into a one-hour session that says
who is impersonating, and that cannot be extended or added to."""
