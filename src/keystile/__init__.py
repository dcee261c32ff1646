"""keystile: a self-hosted authentication server, wire-compatible with Stytch's v1 API."""

__version__ = "0.1.0"
