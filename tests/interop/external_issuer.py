"""An outside identity provider made with PyJWT: its own key, its JWKS over HTTP, its tokens.

    python external_issuer.py ALG ISSUER AUDIENCE

ALG is ES256 or EdDSA. Generates a key with `cryptography`, serves its public JWK (from
PyJWT's to_jwk) at http://127.0.0.1:<port>/jwks.json on a free loopback port, and prints
one JSON line:

    {"jwks_url": ..., "kid": ..., "tokens": {"good": ..., "wrong_aud": ..., "wrong_iss": ...,
     "no_aud": ..., "expired": ..., "other_key": ...}}

`good` carries iss=ISSUER, aud=AUDIENCE, sub, iat, nbf, exp (no Charon session claims);
the others differ in one way each (`other_key`: signed by a key that is not published,
under the published kid). Then serves until its standard input closes or it is killed.
Used by tests/pyjwt_interop.rs.
"""

import http.server
import json
import sys
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def new_key(alg):
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise SystemExit(f"unsupported ALG {alg!r}: use ES256 or EdDSA")


def public_jwk(alg, private_key, kid):
    algorithm = jwt.algorithms.ECAlgorithm if alg == "ES256" else jwt.algorithms.OKPAlgorithm
    jwk = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    alg, issuer, audience = sys.argv[1:]
    key = new_key(alg)
    kid = f"pyjwt-{alg.lower()}-1"
    body = json.dumps({"keys": [public_jwk(alg, key, kid)]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]

    now = int(time.time())
    base = {"iss": issuer, "aud": audience, "sub": "user-from-pyjwt", "iat": now, "nbf": now,
            "exp": now + 600}
    headers = {"kid": kid}

    def sign(claims, signer=key):
        return jwt.encode(claims, signer, algorithm=alg, headers=headers)

    no_aud = dict(base)
    del no_aud["aud"]
    tokens = {
        "good": sign(base),
        "wrong_aud": sign({**base, "aud": "somebody-else"}),
        "wrong_iss": sign({**base, "iss": "https://evil.example"}),
        "no_aud": sign(no_aud),
        "expired": sign({**base, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
        "other_key": sign(base, new_key(alg)),
    }
    print(json.dumps({"jwks_url": f"http://127.0.0.1:{port}/jwks.json", "kid": kid,
                      "tokens": tokens}), flush=True)

    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
