"""Writes the expected public JWKs of the test keys (TEST-ONLY key material), using openssl."""
import base64, json, re, subprocess

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def ed25519(pub_pem: str, kid: str) -> dict:
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub_pem, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(der[-32:]), "kid": kid, "alg": "EdDSA", "use": "sig"}

def rsa(pub_pem: str, kid: str) -> dict:
    text = subprocess.run(["openssl", "rsa", "-pubin", "-in", pub_pem, "-noout", "-modulus"],
                          check=True, capture_output=True, text=True).stdout
    n = bytes.fromhex(re.search(r"Modulus=([0-9A-F]+)", text).group(1))
    return {"kty": "RSA", "n": b64(n.lstrip(b"\0")), "e": "AQAB", "kid": kid, "alg": "RS256", "use": "sig"}

def write(path: str, value: dict) -> None:
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")

write("ed25519-a.jwk.json", ed25519("ed25519-a.pub.pem", "ed-a"))
write("ed25519-b.jwk.json", ed25519("ed25519-b.pub.pem", "ed-b"))
write("rsa-a.jwk.json", rsa("rsa-a.pub.pem", "rs-a"))
# The external identity provider's published key set.
write("idp-jwks.json", {"keys": [ed25519("idp-ed25519.pub.pem", "idp-ed-1"),
                                 rsa("idp-rsa.pub.pem", "idp-rs-1")]})
