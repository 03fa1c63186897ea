//! Envelope encryption: AES-256-GCM with a fresh data key per ciphertext,
//! wrapped by a key-encryption key (KEK), which is itself wrapped by the
//! root key. Pure functions: loading keys from the store lives in `keys`.
//!
//! Sealed blob layout (version 1):
//! `0x01 | kek id (16) | wrap nonce (12) | wrapped data key (32 + 16 tag) |
//!  data nonce (12) | ciphertext + tag (16)`.
//! The data ciphertext authenticates the whole header plus the caller's
//! associated data (the row id it belongs to), so flipping any byte, or
//! moving the blob to another row, makes it fail to open.

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt;

const VERSION: u8 = 1;
const ID_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
const HEADER_LEN: usize = 1 + ID_LEN + NONCE_LEN + WRAPPED_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the ciphertext is malformed")]
    Malformed,
    #[error("the ciphertext names key {0}, which this deployment does not hold")]
    UnknownKey(KeyId),
    #[error("the ciphertext failed authentication (tampered, or bound to other data)")]
    Authentication,
    #[error("the key material is malformed")]
    BadKey,
}

/// 128 random bits naming a key-encryption key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; ID_LEN]);

impl KeyId {
    pub fn random() -> Self {
        KeyId(random_bytes())
    }

    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Result<Self, CryptoError> {
        let bytes = hex_decode(hex).ok_or(CryptoError::BadKey)?;
        Ok(KeyId(bytes.try_into().map_err(|_| CryptoError::BadKey)?))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// 32 secret bytes. Debug never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    pub fn random() -> Self {
        SecretKey(random_bytes())
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        Ok(SecretKey(
            bytes.try_into().map_err(|_| CryptoError::BadKey)?,
        ))
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// The root key: the one secret outside the database.
#[derive(Clone, Debug)]
pub struct RootKey(SecretKey);

impl RootKey {
    pub fn random() -> Self {
        RootKey(SecretKey::random())
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = B64.decode(text.trim()).map_err(|_| CryptoError::BadKey)?;
        Ok(RootKey(SecretKey::from_slice(&bytes)?))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0.as_bytes())
    }

    /// Wrap a secret stored in the database; `label` and `id` are bound as
    /// associated data so wrapped values cannot be swapped between rows.
    pub fn wrap(&self, label: &str, id: &[u8], secret: &[u8]) -> Vec<u8> {
        aead_seal(&self.0, &bound(label, id), secret)
    }

    pub fn unwrap(&self, label: &str, id: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
        aead_open(&self.0, &bound(label, id), wrapped)
    }
}

/// Key-encryption keys by id, and which one seals new data.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: KeyId,
    keys: HashMap<KeyId, SecretKey>,
}

impl Keyring {
    pub fn new(current: KeyId, keys: HashMap<KeyId, SecretKey>) -> Result<Self, CryptoError> {
        if !keys.contains_key(&current) {
            return Err(CryptoError::UnknownKey(current));
        }
        Ok(Keyring { current, keys })
    }

    pub fn current(&self) -> KeyId {
        self.current
    }

    pub fn holds(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id)
    }

    /// Encrypt `plaintext` under a fresh data key, bound to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let kek = &self.keys[&self.current];
        let data_key = SecretKey::random();
        let wrapped = aead_seal(
            kek,
            &bound("data-key", &self.current.0),
            data_key.as_bytes(),
        );
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.current.0);
        out.extend_from_slice(&wrapped);
        let nonce = Nonce::generate();
        out.extend_from_slice(&nonce);
        let header_aad = [&out[..], aad].concat();
        let ciphertext = data_key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &header_aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        out.extend_from_slice(&ciphertext);
        out
    }

    /// The key id a sealed blob names, without opening it.
    pub fn key_id_of(blob: &[u8]) -> Result<KeyId, CryptoError> {
        if blob.len() < HEADER_LEN + TAG_LEN || blob[0] != VERSION {
            return Err(CryptoError::Malformed);
        }
        Ok(KeyId(
            blob[1..1 + ID_LEN].try_into().expect("length checked"),
        ))
    }

    pub fn open(&self, aad: &[u8], blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key_id = Self::key_id_of(blob)?;
        let kek = self
            .keys
            .get(&key_id)
            .ok_or(CryptoError::UnknownKey(key_id))?;
        let wrapped = &blob[1 + ID_LEN..1 + ID_LEN + NONCE_LEN + WRAPPED_LEN];
        let data_key =
            SecretKey::from_slice(&aead_open(kek, &bound("data-key", &key_id.0), wrapped)?)?;
        let nonce_at = 1 + ID_LEN + NONCE_LEN + WRAPPED_LEN;
        let nonce =
            Nonce::try_from(&blob[nonce_at..HEADER_LEN]).map_err(|_| CryptoError::Malformed)?;
        let header_aad = [&blob[..HEADER_LEN], aad].concat();
        data_key
            .cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: &blob[HEADER_LEN..],
                    aad: &header_aad,
                },
            )
            .map_err(|_| CryptoError::Authentication)
    }
}

/// `nonce (12) | ciphertext + tag`.
pub fn aead_seal(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = Nonce::generate();
    let ciphertext = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    [&nonce[..], &ciphertext].concat()
}

pub fn aead_open(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed);
    }
    let nonce = Nonce::try_from(&sealed[..NONCE_LEN]).map_err(|_| CryptoError::Malformed)?;
    key.cipher()
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed[NONCE_LEN..],
                aad,
            },
        )
        .map_err(|_| CryptoError::Authentication)
}

fn bound(label: &str, id: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(label.len() + 1 + id.len());
    aad.extend_from_slice(label.as_bytes());
    aad.push(0);
    aad.extend_from_slice(id);
    aad
}

/// A key for one purpose, derived from the organization secret with
/// HKDF-SHA256 and a distinct label each.
pub fn derive_key(organization_secret: &SecretKey, label: &str) -> SecretKey {
    let hk = Hkdf::<Sha256>::new(Some(b"sealpost v1"), organization_secret.as_bytes());
    let mut okm = [0u8; KEY_LEN];
    hk.expand(label.as_bytes(), &mut okm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    SecretKey(okm)
}

pub fn hmac_sha256(key: &SecretKey, data: &[&[u8]]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256>>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    for part in data {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(data).into()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes[..]);
    bytes
}

pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring_with(ids: &[KeyId], current: KeyId) -> Keyring {
        let keys = ids.iter().map(|id| (*id, SecretKey::random())).collect();
        Keyring::new(current, keys).unwrap()
    }

    #[test]
    fn round_trip() {
        let id = KeyId::random();
        let ring = keyring_with(&[id], id);
        let blob = ring.seal(b"message-1", b"Subject: hello\r\n\r\nbody");
        assert_eq!(Keyring::key_id_of(&blob).unwrap(), id);
        assert_eq!(
            ring.open(b"message-1", &blob).unwrap(),
            b"Subject: hello\r\n\r\nbody"
        );
    }

    #[test]
    fn the_same_plaintext_seals_differently_each_time() {
        let id = KeyId::random();
        let ring = keyring_with(&[id], id);
        assert_ne!(ring.seal(b"m", b"same"), ring.seal(b"m", b"same"));
    }

    #[test]
    fn any_flipped_byte_fails_to_open() {
        let id = KeyId::random();
        let ring = keyring_with(&[id], id);
        let blob = ring.seal(b"message-1", b"secret content");
        for i in 0..blob.len() {
            let mut tampered = blob.clone();
            tampered[i] ^= 0x01;
            assert!(
                ring.open(b"message-1", &tampered).is_err(),
                "byte {i} flipped still opened"
            );
        }
        assert!(ring.open(b"message-1", &blob[..blob.len() - 1]).is_err());
    }

    #[test]
    fn a_ciphertext_moved_to_another_message_fails() {
        let id = KeyId::random();
        let ring = keyring_with(&[id], id);
        let blob = ring.seal(b"message-1", b"secret content");
        assert_eq!(
            ring.open(b"message-2", &blob),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn after_rotation_old_ciphertexts_still_open() {
        let old = KeyId::random();
        let new = KeyId::random();
        let keys: HashMap<_, _> = [(old, SecretKey::random()), (new, SecretKey::random())].into();
        let before = Keyring::new(old, keys.clone()).unwrap();
        let after = Keyring::new(new, keys).unwrap();
        let old_blob = before.seal(b"m1", b"old");
        let new_blob = after.seal(b"m2", b"new");
        assert_eq!(Keyring::key_id_of(&new_blob).unwrap(), new);
        assert_eq!(after.open(b"m1", &old_blob).unwrap(), b"old");
        assert_eq!(after.open(b"m2", &new_blob).unwrap(), b"new");
    }

    #[test]
    fn an_unknown_key_id_is_named() {
        let a = KeyId::random();
        let b = KeyId::random();
        let blob = keyring_with(&[a], a).seal(b"m", b"x");
        assert_eq!(
            keyring_with(&[b], b).open(b"m", &blob),
            Err(CryptoError::UnknownKey(a))
        );
    }

    #[test]
    fn root_wrapping_binds_label_and_id() {
        let root = RootKey::random();
        let wrapped = root.wrap("kek", b"id-1", b"0123456789abcdef0123456789abcdef");
        assert!(root.unwrap("kek", b"id-1", &wrapped).is_ok());
        assert!(root.unwrap("kek", b"id-2", &wrapped).is_err());
        assert!(root.unwrap("org", b"id-1", &wrapped).is_err());
        assert!(RootKey::random().unwrap("kek", b"id-1", &wrapped).is_err());
        let again = RootKey::from_base64(&root.to_base64()).unwrap();
        assert!(again.unwrap("kek", b"id-1", &wrapped).is_ok());
    }

    #[test]
    fn derived_keys_differ_by_label() {
        let secret = SecretKey::random();
        assert_ne!(derive_key(&secret, "csrf"), derive_key(&secret, "session"));
        assert_eq!(derive_key(&secret, "csrf"), derive_key(&secret, "csrf"));
    }
}
