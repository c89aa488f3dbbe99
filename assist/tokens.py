"""Panel tokens: signed JWTs (PyJWT, HS256) carrying the agent id, role and expiry."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from .errors import AssistError

ROLES = ("agent", "supervisor")
ISSUER = "customer-sense"


class TokenError(AssistError):
    """A token that is missing, forged, expired or of the wrong role."""


@dataclass(frozen=True)
class Identity:
    agent: str
    role: str
    expires: float


def make_token(secret: str, agent: str, *, role: str = "agent", ttl: float = 12 * 3600, now: float) -> str:
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not agent:
        raise TokenError("an agent id is required")
    claims = {"sub": agent, "role": role, "iat": int(now), "exp": int(now + ttl), "iss": ISSUER}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(secret: str, token: object, *, now: float, role: str | None = None) -> Identity:
    """The identity in a valid token; TokenError says plainly what is wrong."""
    if not isinstance(token, str) or not token:
        raise TokenError("a token is required: connect with auth = {\"token\": TOKEN} (make one with `assist token`)")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["sub", "exp", "role"], "verify_exp": False})
    except jwt.InvalidSignatureError as exc:
        raise TokenError("the token's signature is not valid (made with another secret?)") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"the token is not valid: {exc}") from exc
    if float(claims["exp"]) <= now:
        raise TokenError("the token has expired; make a new one with `assist token`")
    if claims["role"] not in ROLES:
        raise TokenError(f"the token's role {claims['role']!r} is unknown")
    if role is not None and claims["role"] != role:
        raise TokenError(f"this needs a {role} token; this one is for role {claims['role']!r}")
    return Identity(str(claims["sub"]), str(claims["role"]), float(claims["exp"]))
