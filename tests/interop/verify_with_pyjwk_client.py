"""Verify a charon-auth token with PyJWT, an independent JOSE implementation.

    python verify_with_pyjwk_client.py JWKS_URL TOKEN ALG ISSUER AUDIENCE

PyJWT's PyJWKClient fetches the live JWKS, picks the key by the token's kid, and
jwt.decode checks the signature with ALG only, and `iss`, `aud`, `exp`, `iat`, `nbf`.
Prints one JSON line: {"ok": true, "claims": {...}, "kid": ...} and exits 0 when the token
verifies; {"ok": false, "error": "<PyJWT exception class>", "message": ...} and exits 1
when PyJWT refuses it. Used by tests/pyjwt_interop.rs.
"""

import json
import sys

import jwt


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    jwks_url, token, alg, issuer, audience = sys.argv[1:]
    try:
        client = jwt.PyJWKClient(jwks_url, cache_keys=False)
        signing_key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        print(json.dumps({"ok": False, "error": type(error).__name__, "message": str(error)}))
        return 1
    print(json.dumps({"ok": True, "claims": claims, "kid": signing_key.key_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
