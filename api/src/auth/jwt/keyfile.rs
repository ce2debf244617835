//! PEM key files for token signing and verification, read with a small DER reader that knows just
//! the structures needed here: SubjectPublicKeyInfo (RFC 5280), PKCS#8 `PrivateKeyInfo`
//! (RFC 5208) and the PKCS#1 RSA key sequences (RFC 8017). Only the public halves leave this
//! module as raw components; private key bytes go straight into `jsonwebtoken::EncodingKey`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::KeyPair;

/// `id-Ed25519` (1.3.101.112), DER-encoded contents of the OBJECT IDENTIFIER.
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// `rsaEncryption` (1.2.840.113549.1.1.1).
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

/// Smallest and largest RSA modulus accepted, in bits (ring verifies 2048–8192).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// The public half of a key, as the JWK members need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// The 32-byte Ed25519 public key (`x`).
    Ed25519 { x: Vec<u8> },
    /// Modulus and public exponent, big-endian without leading zeros (`n`, `e`).
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A private signing key: the DER that `jsonwebtoken` signs with, and its public half.
pub(crate) enum PrivateKey {
    /// PKCS#8 DER (what `EncodingKey::from_ed_der` takes).
    Ed25519 { pkcs8: Vec<u8>, public: PublicKey },
    /// PKCS#1 `RSAPrivateKey` DER (what `EncodingKey::from_rsa_der` takes).
    Rsa { pkcs1: Vec<u8>, public: PublicKey },
}

#[cfg(test)]
impl PrivateKey {
    /// The public half.
    pub(crate) fn public(&self) -> &PublicKey {
        match self {
            PrivateKey::Ed25519 { public, .. } | PrivateKey::Rsa { public, .. } => public,
        }
    }
}

/// The first PEM block of `text`: its label (e.g. `PUBLIC KEY`) and DER contents.
fn decode_pem(text: &str) -> Result<(String, Vec<u8>), String> {
    let begin = text
        .find("-----BEGIN ")
        .ok_or("not a PEM file (no -----BEGIN line)")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or("malformed PEM BEGIN line")?;
    let label = rest[..label_end].trim().to_owned();
    let body = &rest[label_end + "-----".len()..];
    let end_line = format!("-----END {label}-----");
    let body_end = body
        .find(&end_line)
        .ok_or_else(|| format!("PEM block {label:?} has no matching END line"))?;
    let base64: String = body[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| format!("PEM block {label:?} is not valid base64"))?;
    Ok((label, der))
}

/// Reads a PEM public key: `PUBLIC KEY` (SubjectPublicKeyInfo, Ed25519 or RSA) or
/// `RSA PUBLIC KEY` (PKCS#1).
pub(crate) fn public_key_from_pem(text: &str) -> Result<PublicKey, String> {
    let (label, der) = decode_pem(text)?;
    match label.as_str() {
        "PUBLIC KEY" => subject_public_key_info(&der),
        "RSA PUBLIC KEY" => rsa_public_key(&der),
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY" => Err(
            "this is a private key: give the public key (openssl pkey -pubout) for verification"
                .into(),
        ),
        other => Err(format!(
            "unsupported PEM block {other:?} (expected PUBLIC KEY)"
        )),
    }
}

/// Reads a PEM private key: `PRIVATE KEY` (PKCS#8, Ed25519 or RSA) or `RSA PRIVATE KEY`
/// (PKCS#1), and works out its public half.
pub(crate) fn private_key_from_pem(text: &str) -> Result<PrivateKey, String> {
    let (label, der) = decode_pem(text)?;
    match label.as_str() {
        "PRIVATE KEY" => pkcs8_private_key(der),
        "RSA PRIVATE KEY" => {
            let public = rsa_private_key_public_half(&der)?;
            Ok(PrivateKey::Rsa { pkcs1: der, public })
        }
        "ENCRYPTED PRIVATE KEY" => Err(
            "encrypted private keys are not supported: store the key unencrypted with owner-only permissions"
                .into(),
        ),
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {
            Err("this is a public key: the signing key file must hold the private key".into())
        }
        other => Err(format!(
            "unsupported PEM block {other:?} (expected PRIVATE KEY)"
        )),
    }
}

/// `SEQUENCE { SEQUENCE { algorithm OID, parameters ANY OPTIONAL }, subjectPublicKey BIT STRING }`.
fn subject_public_key_info(der: &[u8]) -> Result<PublicKey, String> {
    let mut outer = Der::new(der);
    let mut spki = Der::new(outer.read(TAG_SEQUENCE)?);
    outer.finish()?;
    let mut algorithm = Der::new(spki.read(TAG_SEQUENCE)?);
    let oid = algorithm.read(TAG_OID)?;
    let bits = spki.read(TAG_BIT_STRING)?;
    spki.finish()?;
    let key = match bits.split_first() {
        Some((0, key)) => key,
        _ => return Err("public key BIT STRING has unused bits".into()),
    };
    if oid == OID_ED25519 {
        algorithm.finish()?;
        if key.len() != 32 {
            return Err("an Ed25519 public key has 32 bytes".into());
        }
        Ok(PublicKey::Ed25519 { x: key.to_vec() })
    } else if oid == OID_RSA_ENCRYPTION {
        rsa_public_key(key)
    } else {
        Err("unsupported public key algorithm (use Ed25519 or RSA)".into())
    }
}

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public_key(der: &[u8]) -> Result<PublicKey, String> {
    let mut outer = Der::new(der);
    let mut sequence = Der::new(outer.read(TAG_SEQUENCE)?);
    outer.finish()?;
    let n = sequence.unsigned_integer()?;
    let e = sequence.unsigned_integer()?;
    sequence.finish()?;
    rsa_components(n, e)
}

/// PKCS#1 `RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, … }`: the public half.
fn rsa_private_key_public_half(der: &[u8]) -> Result<PublicKey, String> {
    let mut outer = Der::new(der);
    let mut sequence = Der::new(outer.read(TAG_SEQUENCE)?);
    outer.finish()?;
    let version = sequence.unsigned_integer()?;
    if !version.is_empty() {
        return Err("multi-prime RSA keys are not supported".into());
    }
    let n = sequence.unsigned_integer()?;
    let e = sequence.unsigned_integer()?;
    rsa_components(n, e)
}

fn rsa_components(n: &[u8], e: &[u8]) -> Result<PublicKey, String> {
    let bits = match n.first() {
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    };
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(format!(
            "RSA keys must have {RSA_MIN_BITS} to {RSA_MAX_BITS} bits (this one has {bits})"
        ));
    }
    if e.is_empty() || e.len() > 8 {
        return Err("RSA public exponent out of range".into());
    }
    Ok(PublicKey::Rsa {
        n: n.to_vec(),
        e: e.to_vec(),
    })
}

/// PKCS#8 `PrivateKeyInfo ::= SEQUENCE { version, algorithm AlgorithmIdentifier, privateKey OCTET
/// STRING, … }` holding an Ed25519 or an RSA key.
fn pkcs8_private_key(der: Vec<u8>) -> Result<PrivateKey, String> {
    let (oid, private_key) = {
        let mut outer = Der::new(&der);
        let mut info = Der::new(outer.read(TAG_SEQUENCE)?);
        outer.finish()?;
        info.unsigned_integer()?;
        let mut algorithm = Der::new(info.read(TAG_SEQUENCE)?);
        let oid = algorithm.read(TAG_OID)?.to_vec();
        (oid, info.read(TAG_OCTET_STRING)?.to_vec())
    };
    if oid == OID_ED25519 {
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|e| format!("not a usable Ed25519 private key ({e})"))?;
        let x = pair.public_key().as_ref().to_vec();
        Ok(PrivateKey::Ed25519 {
            pkcs8: der,
            public: PublicKey::Ed25519 { x },
        })
    } else if oid == OID_RSA_ENCRYPTION {
        let public = rsa_private_key_public_half(&private_key)?;
        Ok(PrivateKey::Rsa {
            pkcs1: private_key,
            public,
        })
    } else {
        Err("unsupported private key algorithm (use Ed25519 or RSA)".into())
    }
}

/// A cursor over DER: reads one definite-length element at a time.
struct Der<'a> {
    input: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(input: &'a [u8]) -> Self {
        Der { input }
    }

    /// The contents of the next element, which must carry `tag`.
    fn read(&mut self, tag: u8) -> Result<&'a [u8], String> {
        let (&found, rest) = self.input.split_first().ok_or("truncated DER")?;
        if found != tag {
            return Err(format!(
                "unexpected DER element (tag {found:#04x}, expected {tag:#04x})"
            ));
        }
        let (&first, mut rest) = rest.split_first().ok_or("truncated DER")?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err("unsupported DER length".into());
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        if rest.len() < length {
            return Err("truncated DER".into());
        }
        let (contents, after) = rest.split_at(length);
        self.input = after;
        Ok(contents)
    }

    /// A non-negative INTEGER, big-endian without leading zero bytes (zero is empty).
    fn unsigned_integer(&mut self) -> Result<&'a [u8], String> {
        let bytes = self.read(TAG_INTEGER)?;
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            return Err("negative DER INTEGER".into());
        }
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        Ok(&bytes[start..])
    }

    /// Fails when anything is left.
    fn finish(&self) -> Result<(), String> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err("trailing bytes after DER element".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_file(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/keys")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn an_ed25519_private_key_yields_the_same_public_key_as_its_public_file() {
        let private = private_key_from_pem(&key_file("ed25519-a.pem")).expect("private key");
        let public = public_key_from_pem(&key_file("ed25519-a.pub.pem")).expect("public key");
        assert!(matches!(private, PrivateKey::Ed25519 { .. }));
        assert_eq!(private.public(), &public);
    }

    #[test]
    fn rsa_keys_read_from_pkcs8_pkcs1_and_spki_agree() {
        let pkcs8 = private_key_from_pem(&key_file("rsa-a.pem")).expect("PKCS#8 key");
        let pkcs1 = private_key_from_pem(&key_file("rsa-a.pkcs1.pem")).expect("PKCS#1 key");
        let spki = public_key_from_pem(&key_file("rsa-a.pub.pem")).expect("SPKI key");
        let rsa_public = public_key_from_pem(&key_file("rsa-a.pkcs1.pub.pem")).expect("PKCS#1");
        assert_eq!(pkcs8.public(), &spki);
        assert_eq!(pkcs1.public(), &spki);
        assert_eq!(rsa_public, spki);
        let PublicKey::Rsa { n, e } = spki else {
            panic!("an RSA key")
        };
        assert_eq!(n.len(), 256);
        assert_eq!(e, vec![1, 0, 1]);
    }

    #[test]
    fn wrong_kinds_of_pem_are_refused_with_a_reason() {
        assert!(public_key_from_pem(&key_file("ed25519-a.pem")).is_err());
        assert!(private_key_from_pem(&key_file("ed25519-a.pub.pem")).is_err());
        assert!(public_key_from_pem("not a key").is_err());
        let truncated = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";
        assert!(public_key_from_pem(truncated).is_err());
    }
}
