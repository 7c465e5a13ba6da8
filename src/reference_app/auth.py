"""Signed, expiring login tokens (itsdangerous), shared by the REST API and the socket server."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(Exception):
    """A token is missing, forged or expired; the message says which."""


class Tokens:
    """Issues and checks login tokens that carry a user id."""

    def __init__(self, secret_key: str, ttl_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="reference-app-login")
        self.ttl_s = ttl_s

    def issue(self, user_id: int) -> str:
        return self._serializer.dumps({"uid": user_id})

    def user_id(self, token: object) -> int:
        """The user id inside a valid token; raises TokenError otherwise."""
        if not isinstance(token, str) or not token:
            raise TokenError("no token")
        try:
            data = self._serializer.loads(token, max_age=self.ttl_s)
        except SignatureExpired:
            raise TokenError("token expired") from None
        except BadSignature:
            raise TokenError("invalid token") from None
        if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
            raise TokenError("invalid token")
        return int(data["uid"])
