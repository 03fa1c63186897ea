//! The key hierarchy at run time: the root key (file or setting), the
//! organization id and secret, the key-encryption keys, and the secrets
//! derived for each purpose.

use crate::config::Settings;
use crate::crypto::{CryptoError, KeyId, Keyring, RootKey, SecretKey, derive_key};
use crate::store::{KeyRow, OrganizationRow, Store, StoreError, now_ms};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the database holds keys, but there is no root key: set SEALPOST_MASTER_KEY or restore {0}"
    )]
    RootKeyMissing(String),
    #[error(
        "the root key does not open the keys in the database (wrong SEALPOST_MASTER_KEY or master.key?)"
    )]
    RootKeyMismatch,
    #[error("cannot read or write the root key file {path}: {source}")]
    RootKeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the root key file {0} does not hold the base64 of 32 bytes")]
    RootKeyFileMalformed(String),
    #[error("the database has no current key-encryption key")]
    NoCurrentKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Labels of the derived secrets: one each, never reused for another purpose.
pub mod labels {
    pub const CSRF: &str = "sealpost csrf v1";
    pub const SESSION: &str = "sealpost session v1";
    pub const PASSCODE: &str = "sealpost passcode v1";
    pub const INSPECTION_MARKER: &str = "sealpost inspection marker v1";
}

const ORG_SECRET_LABEL: &str = "organization-secret";
const KEK_LABEL: &str = "key-encryption-key";

/// Everything the running node needs from the key hierarchy.
#[derive(Clone, Debug)]
pub struct KeyMaterial {
    pub org_id: String,
    pub keyring: Keyring,
    organization_secret: SecretKey,
}

impl KeyMaterial {
    pub fn derived(&self, label: &str) -> SecretKey {
        derive_key(&self.organization_secret, label)
    }
}

/// Loads the key hierarchy, creating it on the very first start. Never
/// creates a root key when the database already holds keys.
pub async fn load_or_create(store: &Store, settings: &Settings) -> Result<KeyMaterial, KeyError> {
    let org = store.organization().await?;
    let keys = store.keys().await?;
    let has_keys = org.is_some() || !keys.is_empty();
    let root = root_key(settings, !has_keys)?;
    if let Some(org) = org {
        return open(&root, &org, &keys);
    }
    let org_id = KeyId::random().to_hex();
    let secret = SecretKey::random();
    let first = KeyId::random();
    let org_row = OrganizationRow {
        wrapped_secret: root.wrap(ORG_SECRET_LABEL, org_id.as_bytes(), secret.as_bytes()),
        org_id,
        created_at: now_ms(),
    };
    let key_row = KeyRow {
        key_id: first.to_hex(),
        wrapped_key: root.wrap(
            KEK_LABEL,
            first.to_hex().as_bytes(),
            SecretKey::random().as_bytes(),
        ),
        is_current: true,
        origin: "local".into(),
        created_at: now_ms(),
    };
    if store.create_organization(&org_row, &key_row).await? {
        tracing::info!(org_id = %org_row.org_id, key_id = %first, "created the organization and its first key-encryption key");
    }
    // Another node may have won the race: read back what is stored.
    let org = store
        .organization()
        .await?
        .ok_or(KeyError::RootKeyMismatch)?;
    open(&root, &org, &store.keys().await?)
}

fn open(root: &RootKey, org: &OrganizationRow, keys: &[KeyRow]) -> Result<KeyMaterial, KeyError> {
    let secret = root
        .unwrap(ORG_SECRET_LABEL, org.org_id.as_bytes(), &org.wrapped_secret)
        .and_then(|s| SecretKey::from_slice(&s))
        .map_err(|_| KeyError::RootKeyMismatch)?;
    let mut ring = HashMap::new();
    let mut current = None;
    for row in keys {
        let id = KeyId::from_hex(&row.key_id).map_err(|_| KeyError::RootKeyMismatch)?;
        let key = root
            .unwrap(KEK_LABEL, row.key_id.as_bytes(), &row.wrapped_key)
            .and_then(|k| SecretKey::from_slice(&k))
            .map_err(|_| KeyError::RootKeyMismatch)?;
        ring.insert(id, key);
        if row.is_current {
            current = Some(id);
        }
    }
    let keyring = Keyring::new(current.ok_or(KeyError::NoCurrentKey)?, ring)
        .map_err(|_: CryptoError| KeyError::NoCurrentKey)?;
    Ok(KeyMaterial {
        org_id: org.org_id.clone(),
        keyring,
        organization_secret: secret,
    })
}

/// Adds a new current key-encryption key; older ones keep opening what they sealed.
pub async fn rotate(store: &Store, settings: &Settings) -> Result<KeyId, KeyError> {
    // Proves the root key opens what is there before adding to it.
    load_or_create(store, settings).await?;
    let root = root_key(settings, false)?;
    let id = KeyId::random();
    let wrapped = root.wrap(
        KEK_LABEL,
        id.to_hex().as_bytes(),
        SecretKey::random().as_bytes(),
    );
    store.add_current_key(&id.to_hex(), &wrapped).await?;
    Ok(id)
}

fn root_key(settings: &Settings, may_create: bool) -> Result<RootKey, KeyError> {
    if let Some(text) = &settings.master_key {
        return RootKey::from_base64(text).map_err(|_| KeyError::RootKeyMismatch);
    }
    let path = settings.master_key_file();
    let display = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            RootKey::from_base64(&text).map_err(|_| KeyError::RootKeyFileMalformed(display))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
            let root = RootKey::random();
            write_key_file(&path, &root).map_err(|source| KeyError::RootKeyFile {
                path: display,
                source,
            })?;
            tracing::warn!(path = %path.display(), "created a new root key file: back it up, without it no message can be opened");
            Ok(root)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(KeyError::RootKeyMissing(display))
        }
        Err(source) => Err(KeyError::RootKeyFile {
            path: display,
            source,
        }),
    }
}

/// Written with mode 0600 from the start, never readable by others.
fn write_key_file(path: &Path, root: &RootKey) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", root.to_base64())?;
    file.sync_all()
}
