#!/bin/sh
# Regenerates the TEST-ONLY key material in this directory (never use these keys anywhere else).
# Needs openssl 3 and python3. The JWK files are computed independently of the API's own code so
# the tests cross-check its PEM reader.
set -eu
cd "$(dirname "$0")"
for name in ed25519-a ed25519-b idp-ed25519; do
    openssl genpkey -algorithm ed25519 -out "$name.pem"
    openssl pkey -in "$name.pem" -pubout -out "$name.pub.pem"
done
for name in rsa-a idp-rsa; do
    openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$name.pem"
    openssl pkey -in "$name.pem" -pubout -out "$name.pub.pem"
done
openssl rsa -in rsa-a.pem -traditional -out rsa-a.pkcs1.pem 2>/dev/null
openssl rsa -in rsa-a.pem -RSAPublicKey_out -out rsa-a.pkcs1.pub.pem 2>/dev/null
python3 jwk.py
