//! The key hierarchy at run time: the root key (file or setting), the
//! organization id and secret, the key-encryption keys, and the secrets
//! derived for each purpose.

use crate::config::Settings;
use crate::crypto::{CryptoError, KeyId, Keyring, RootKey, SecretKey, derive_key};
use crate::store::{KeyRow, OrganizationRow, Store, StoreError, Tx, now_ms};
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
        "SEALPOST_MASTER_KEY_FILE: {0} does not exist (make it with: head -c 32 /dev/urandom | base64 > FILE)"
    )]
    RootKeyFileMissing(String),
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
    #[error("{0}")]
    Bundle(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Labels of the derived secrets: one each, never reused for another purpose.
pub mod labels {
    pub const CSRF: &str = "sealpost csrf v1";
    pub const SESSION: &str = "sealpost session v1";
    pub const PASSCODE: &str = "sealpost passcode v1";
    pub const INSPECTION_MARKER: &str = "sealpost inspection marker v1";
    /// Digests of the addresses a protected envelope names (format v2).
    pub const RECIPIENT_DIGEST: &str = "sealpost recipient digest v1";
}

const ORG_SECRET_LABEL: &str = "organization-secret";
const KEK_LABEL: &str = "key-encryption-key";

/// Everything the running node needs from the key hierarchy.
#[derive(Clone, Debug)]
pub struct KeyMaterial {
    pub org_id: String,
    /// Ids this deployment had before it adopted another's (`keys import`):
    /// mail protected under them is still its own.
    pub former_org_ids: Vec<String>,
    pub keyring: Keyring,
    organization_secret: SecretKey,
}

impl KeyMaterial {
    /// Whether an envelope's organization is this one.
    pub fn is_ours(&self, org: &str) -> bool {
        self.org_id.eq_ignore_ascii_case(org)
            || self
                .former_org_ids
                .iter()
                .any(|f| f.eq_ignore_ascii_case(org))
    }

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
        return open(&root, &org, &keys, store.former_org_ids().await?);
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
    open(&root, &org, &store.keys().await?, Vec::new())
}

/// For `sealpost check`: where the root key comes from, and whether it
/// opens the keys the database holds (`store`: a database that is up to
/// date). Creates nothing.
pub async fn check(store: Option<&Store>, settings: &Settings) -> Result<String, KeyError> {
    let org = match store {
        Some(store) => store.organization().await?,
        None => None,
    };
    let source = match &settings.master_key {
        Some(_) => "SEALPOST_MASTER_KEY".to_string(),
        None => settings.master_key_file().display().to_string(),
    };
    if org.is_none()
        && settings.master_key.is_none()
        && settings.master_key_file.is_none()
        && !settings.master_key_file().exists()
    {
        return Ok(format!(
            "none yet: the first start creates {source} (back it up then)"
        ));
    }
    let root = root_key(settings, false)?;
    match (org, store) {
        (Some(org), Some(store)) => {
            let keys = store.keys().await?;
            open(&root, &org, &keys, Vec::new())?;
            Ok(format!(
                "{source} opens the organization's {} key-encryption key(s)",
                keys.len()
            ))
        }
        _ => Ok(format!(
            "{source} is readable; the database holds no keys yet"
        )),
    }
}

fn open(
    root: &RootKey,
    org: &OrganizationRow,
    keys: &[KeyRow],
    former_org_ids: Vec<String>,
) -> Result<KeyMaterial, KeyError> {
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
        former_org_ids,
        keyring,
        organization_secret: secret,
    })
}

/// A new key-encryption key, wrapped with the root key, for the caller to
/// add as the current one (`Tx::add_current_key`); older ones keep opening
/// what they sealed.
pub async fn new_key(store: &Store, settings: &Settings) -> Result<(KeyId, Vec<u8>), KeyError> {
    // Proves the root key opens what is there before adding to it.
    load_or_create(store, settings).await?;
    let root = root_key(settings, false)?;
    let id = KeyId::random();
    let wrapped = root.wrap(
        KEK_LABEL,
        id.to_hex().as_bytes(),
        SecretKey::random().as_bytes(),
    );
    Ok((id, wrapped))
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
        // A file named in the settings (a systemd credential, say) is the
        // administrator's: a missing one is a mistake to report, not a
        // reason to make a key nobody has backed up.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && may_create
                && settings.master_key_file.is_none() =>
        {
            let root = RootKey::random();
            write_key_file(&path, &root).map_err(|source| KeyError::RootKeyFile {
                path: display,
                source,
            })?;
            tracing::warn!(path = %path.display(), "created a new root key file: back it up, without it no message can be opened");
            Ok(root)
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && settings.master_key_file.is_some() =>
        {
            Err(KeyError::RootKeyFileMissing(display))
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
        crate::store::private_dir(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", root.to_base64())?;
    file.sync_all()
}

/// The organization's identity and keys as `keys export` writes them,
/// sealed with a passphrase (Argon2id, then AES-256-GCM).
#[derive(serde::Serialize, serde::Deserialize)]
struct Bundle {
    org_id: String,
    org_secret: String,
    keys: Vec<BundleKey>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BundleKey {
    key_id: String,
    key: String,
    created_at: i64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SealedBundle {
    format: String,
    kdf: String,
    salt: String,
    data: String,
}

const BUNDLE_FORMAT: &str = "sealpost-keys-v1";
const BUNDLE_AAD: &[u8] = b"sealpost keys export v1";

fn passphrase_key(passphrase: &str, salt: &[u8]) -> Result<SecretKey, KeyError> {
    let mut key = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| KeyError::Bundle(format!("cannot derive a key from the passphrase: {e}")))?;
    SecretKey::from_slice(&key).map_err(|_| KeyError::Bundle("bad derived key".into()))
}

/// Everything another deployment of this organization needs, sealed with
/// the passphrase: the organization id and secret and every key-encryption
/// key.
pub async fn export(
    store: &Store,
    settings: &Settings,
    passphrase: &str,
) -> Result<String, KeyError> {
    use base64::Engine;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let material = load_or_create(store, settings).await?;
    let root = root_key(settings, false)?;
    let mut keys = Vec::new();
    for row in store.keys().await? {
        let key = root
            .unwrap(KEK_LABEL, row.key_id.as_bytes(), &row.wrapped_key)
            .map_err(|_| KeyError::RootKeyMismatch)?;
        keys.push(BundleKey {
            key_id: row.key_id,
            key: b64.encode(key),
            created_at: row.created_at,
        });
    }
    let bundle = Bundle {
        org_id: material.org_id.clone(),
        org_secret: b64.encode(material.organization_secret.as_bytes()),
        keys,
    };
    let salt = crate::crypto::random_bytes::<16>();
    let key = passphrase_key(passphrase, &salt)?;
    let plain = serde_json::to_vec(&bundle).expect("a bundle serialises");
    let sealed = SealedBundle {
        format: BUNDLE_FORMAT.into(),
        kdf: "argon2id".into(),
        salt: b64.encode(salt),
        data: b64.encode(crate::crypto::aead_seal(&key, BUNDLE_AAD, &plain)),
    };
    Ok(serde_json::to_string_pretty(&sealed).expect("a sealed bundle serialises"))
}

/// What `keys import` changed.
pub struct ImportReport {
    /// The organization id this deployment had, when it adopted the other's.
    pub replaced_org: Option<String>,
    pub keys_added: usize,
}

/// What an export holds, opened with the passphrase and wrapped with this
/// deployment's root key, ready for [`import`].
pub struct ImportPlan {
    keys: Vec<(String, Vec<u8>, i64)>,
    /// The exported organization, and the id this deployment gives up,
    /// when they differ.
    adopt: Option<(OrganizationRow, String)>,
}

/// Opens an export (`keys export`'s file) with its passphrase. Changes
/// nothing: the slow part (Argon2id) runs before any transaction.
pub async fn open_export(
    store: &Store,
    settings: &Settings,
    text: &str,
    passphrase: &str,
) -> Result<ImportPlan, KeyError> {
    use base64::Engine;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let bad =
        |what: &str| KeyError::Bundle(format!("the file is not a sealpost key export: {what}"));
    let sealed: SealedBundle = serde_json::from_str(text).map_err(|_| bad("not its JSON"))?;
    if sealed.format != BUNDLE_FORMAT || sealed.kdf != "argon2id" {
        return Err(bad("unknown format"));
    }
    let salt = b64.decode(&sealed.salt).map_err(|_| bad("salt"))?;
    let data = b64.decode(&sealed.data).map_err(|_| bad("data"))?;
    let key = passphrase_key(passphrase, &salt)?;
    let plain = crate::crypto::aead_open(&key, BUNDLE_AAD, &data).map_err(|_| {
        KeyError::Bundle(
            "the passphrase does not open this export (or the file was changed)".into(),
        )
    })?;
    let bundle: Bundle = serde_json::from_slice(&plain).map_err(|_| bad("contents"))?;
    let material = load_or_create(store, settings).await?;
    let root = root_key(settings, false)?;
    let mut keys = Vec::new();
    for k in &bundle.keys {
        KeyId::from_hex(&k.key_id).map_err(|_| bad("key id"))?;
        let secret = b64.decode(&k.key).map_err(|_| bad("key"))?;
        SecretKey::from_slice(&secret).map_err(|_| bad("key length"))?;
        let wrapped = root.wrap(KEK_LABEL, k.key_id.as_bytes(), &secret);
        keys.push((k.key_id.clone(), wrapped, k.created_at));
    }
    let adopt = if material.org_id.eq_ignore_ascii_case(&bundle.org_id) {
        None
    } else {
        let secret = b64
            .decode(&bundle.org_secret)
            .map_err(|_| bad("organization secret"))?;
        SecretKey::from_slice(&secret).map_err(|_| bad("organization secret length"))?;
        let row = OrganizationRow {
            wrapped_secret: root.wrap(ORG_SECRET_LABEL, bundle.org_id.as_bytes(), &secret),
            org_id: bundle.org_id.clone(),
            created_at: now_ms(),
        };
        Some((row, material.org_id))
    };
    Ok(ImportPlan { keys, adopt })
}

/// Adopts the exported organization and adds its keys, in the caller's
/// transaction; what is already known changes nothing.
pub async fn import(plan: &ImportPlan, tx: &mut Tx) -> Result<ImportReport, KeyError> {
    let mut added = 0;
    for (key_id, wrapped, created_at) in &plan.keys {
        if tx.import_key(key_id, wrapped, *created_at).await? {
            added += 1;
        }
    }
    let replaced_org = match &plan.adopt {
        Some((row, former)) => {
            tx.replace_organization(row, former).await?;
            Some(former.clone())
        }
        None => None,
    };
    Ok(ImportReport {
        replaced_org,
        keys_added: added,
    })
}
