//! Keys: who may call what. One admin key reaches everything; a company key reaches its own
//! company only. With no keys configured the server is open (and `config` refuses to bind it
//! beyond loopback unless told `--insecure-open`).
//!
//! The keys file is TOML, read once at start-up:
//! ```toml
//! admin = "a-long-random-admin-key"
//! [companies]
//! acme = "a-long-random-key-for-acme"
//! [retell]
//! acme = "key_the-companys-retell-api-key"
//! ```
//! A `[readonly]` table (`acme = "a-long-random-readonly-key"`) names keys that sign in to the
//! admin page to look at a company without acting (no cancel, no extend); they reach no API.
//! The `[retell]` table is not a bearer key: it is the Retell API key a company's Retell agent
//! signs its requests with (`http::voice::retell`), so the server can check them.
//! Keys are looked up in a hash map by the presented key; a timing side channel through the
//! map's hashing would need the attacker to observe hash-table probe counts over the network,
//! which the request's own latency noise hides by orders of magnitude.

use crate::core::command::validate_id;
use crate::http::error::ApiError;
use crate::limits;
use actix_web::http::header::HeaderValue;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// What a key reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Every company and the admin endpoints.
    Admin,
    /// One company's endpoints.
    Company(Arc<str>),
}

/// The configured keys; empty means the server is open.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    by_key: HashMap<Box<str>, Role>,
    /// Each company's Retell API key, the key of its requests' signatures.
    retell: HashMap<Box<str>, Box<str>>,
    /// Read-only keys of the admin page, and the company each shows.
    readonly: HashMap<Box<str>, Arc<str>>,
}

/// Why a keys file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot read the keys file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the keys file is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("the keys file names company '{company}', which is not a valid company id: {detail}")]
    Company { company: String, detail: String },
    #[error("the key of {owner} is shorter than {} bytes", limits::KEY_BYTES_MIN)]
    TooShort { owner: String },
    #[error("the key of {owner} is not printable ASCII without spaces")]
    Alphabet { owner: String },
    #[error("{first} and {second} share one key")]
    Shared { first: String, second: String },
    #[error("the keys file names no key at all")]
    Empty,
}

/// The file's shape, strictly: a typo in a field name is an error, not an open server.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    admin: Option<String>,
    #[serde(default)]
    companies: BTreeMap<String, String>,
    #[serde(default)]
    retell: BTreeMap<String, String>,
    #[serde(default)]
    readonly: BTreeMap<String, String>,
}

impl Keys {
    /// No keys: every caller reaches everything.
    pub fn open() -> Keys {
        Keys::default()
    }

    /// Whether no key is configured.
    pub fn is_open(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Reads and checks a keys file.
    pub fn load(path: &Path) -> Result<Keys, KeysError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeysError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Keys::from_toml(&text)
    }

    /// Parses and checks the keys file's text.
    pub fn from_toml(text: &str) -> Result<Keys, KeysError> {
        let file: KeysFile = toml::from_str(text)?;
        let mut keys = Keys::default();
        if let Some(admin) = file.admin {
            keys.add(admin, Role::Admin)?;
        }
        for (company, key) in file.companies {
            validate_id("company", &company).map_err(|error| KeysError::Company {
                company: company.clone(),
                detail: error.to_string(),
            })?;
            keys.add(key, Role::Company(company.into()))?;
        }
        for (company, key) in file.retell {
            validate_id("company", &company).map_err(|error| KeysError::Company {
                company: company.clone(),
                detail: error.to_string(),
            })?;
            check_key(&key, format!("the Retell agent of company '{company}'"))?;
            keys.retell.insert(company.into(), key.into());
        }
        for (company, key) in file.readonly {
            validate_id("company", &company).map_err(|error| KeysError::Company {
                company: company.clone(),
                detail: error.to_string(),
            })?;
            let owner = format!("the read-only key of company '{company}'");
            check_key(&key, owner.clone())?;
            if let Some(first) = keys.by_key.get(key.as_str()) {
                return Err(KeysError::Shared {
                    first: owner_of(first),
                    second: owner,
                });
            }
            keys.readonly.insert(key.into(), company.into());
        }
        if keys.is_open() {
            return Err(KeysError::Empty);
        }
        Ok(keys)
    }

    fn add(&mut self, key: String, role: Role) -> Result<(), KeysError> {
        let owner = owner_of(&role);
        check_key(&key, owner.clone())?;
        if let Some(first) = self.by_key.insert(key.into_boxed_str(), role) {
            return Err(KeysError::Shared {
                first: owner_of(&first),
                second: owner,
            });
        }
        Ok(())
    }

    /// What `key` reaches, if it is a known bearer key (the admin page's sign-in).
    pub fn role_of(&self, key: &str) -> Option<Role> {
        self.by_key.get(key.trim()).cloned()
    }

    /// What `key` reaches on the admin page, and whether it may act there: a bearer key acts,
    /// a `[readonly]` key only looks at its company.
    pub fn viewer_of(&self, key: &str) -> Option<(Role, bool)> {
        if let Some(role) = self.role_of(key) {
            return Some((role, true));
        }
        let company = self.readonly.get(key.trim())?;
        Some((Role::Company(company.clone()), false))
    }

    /// The Retell API key `company`'s requests are signed with, if the file names one.
    pub fn retell_key(&self, company: &str) -> Option<&str> {
        self.retell.get(company).map(|key| &**key)
    }

    /// The role of the key in an `Authorization` header, if it is a known bearer key.
    fn role(&self, authorization: Option<&HeaderValue>) -> Option<&Role> {
        let text = authorization?.to_str().ok()?;
        let (scheme, key) = text.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.by_key.get(key.trim())
    }

    /// Checks that the request may reach `company`: 401 without a known key, 403 with another
    /// company's key. Open servers let everyone in.
    pub fn authorize_company(
        &self,
        authorization: Option<&HeaderValue>,
        company: &str,
    ) -> Result<(), ApiError> {
        if self.is_open() {
            return Ok(());
        }
        match self.role(authorization) {
            None => Err(ApiError::Unauthorized),
            Some(Role::Admin) => Ok(()),
            Some(Role::Company(own)) if own.as_ref() == company => Ok(()),
            Some(Role::Company(_)) => Err(ApiError::Forbidden {
                company: shorten(company),
            }),
        }
    }

    /// Checks that the request carries the admin key (or that the server is open).
    pub fn authorize_admin(&self, authorization: Option<&HeaderValue>) -> Result<(), ApiError> {
        if self.is_open() {
            return Ok(());
        }
        match self.role(authorization) {
            None => Err(ApiError::Unauthorized),
            Some(Role::Admin) => Ok(()),
            Some(Role::Company(_)) => Err(ApiError::Forbidden {
                company: "admin".into(),
            }),
        }
    }
}

/// Checks a key's length and alphabet (`owner` names it in the error).
fn check_key(key: &str, owner: String) -> Result<(), KeysError> {
    if key.len() < limits::KEY_BYTES_MIN {
        return Err(KeysError::TooShort { owner });
    }
    // A header carries the key verbatim; a byte a header cannot hold could never match.
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeysError::Alphabet { owner });
    }
    Ok(())
}

fn owner_of(role: &Role) -> String {
    match role {
        Role::Admin => "the admin".into(),
        Role::Company(company) => format!("company '{company}'"),
    }
}

/// A company id from a path, shortened for an error message (an overlong one is not echoed).
fn shorten(company: &str) -> String {
    company.chars().take(limits::ID_BYTES_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
admin = "admin-key-0123456789"
[companies]
acme = "acme-key-0123456789"
beta = "beta-key-0123456789"
"#;

    fn bearer(key: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {key}")).unwrap()
    }

    /// Goal: the admin key reaches every company, a company key only its own, others nothing.
    #[test]
    fn who_reaches_what() {
        let keys = Keys::from_toml(FILE).unwrap();
        let admin = bearer("admin-key-0123456789");
        let acme = bearer("acme-key-0123456789");
        assert!(keys.authorize_company(Some(&admin), "beta").is_ok());
        assert!(keys.authorize_admin(Some(&admin)).is_ok());
        assert!(keys.authorize_company(Some(&acme), "acme").is_ok());
        let lowercase = HeaderValue::from_static("bearer acme-key-0123456789");
        assert!(keys.authorize_company(Some(&lowercase), "acme").is_ok());
        assert!(matches!(
            keys.authorize_company(Some(&acme), "beta"),
            Err(ApiError::Forbidden { .. })
        ));
        assert!(matches!(
            keys.authorize_admin(Some(&acme)),
            Err(ApiError::Forbidden { .. })
        ));
        for header in [
            None,
            Some(bearer("nope-nope-nope-nope")),
            Some(HeaderValue::from_static("Basic acme-key-0123456789")),
            Some(HeaderValue::from_static("acme-key-0123456789")),
        ] {
            assert!(matches!(
                keys.authorize_company(header.as_ref(), "acme"),
                Err(ApiError::Unauthorized)
            ));
        }
        assert!(Keys::open().authorize_company(None, "acme").is_ok());
    }

    /// Goal: a keys file that would leave the server open or ambiguous is refused.
    #[test]
    fn bad_files() {
        let cases = [
            ("", "no key"),
            ("admin = \"short\"", "too short"),
            ("admin = \"has a space in the key!!\"", "alphabet"),
            ("admn = \"admin-key-0123456789\"", "typo"),
            (
                "[companies]\n\"bad id\" = \"acme-key-0123456789\"",
                "company id",
            ),
            (
                "admin = \"same-key-0123456789\"\n[companies]\nacme = \"same-key-0123456789\"",
                "shared",
            ),
            (
                "admin = \"admin-key-0123456789\"\n[retell]\nacme = \"short\"",
                "a short Retell key",
            ),
            (
                "admin = \"admin-key-0123456789\"\n[readonly]\nacme = \"admin-key-0123456789\"",
                "a read-only key shared with the admin",
            ),
            (
                "[readonly]\nacme = \"readonly-key-0123456789\"",
                "read-only keys alone (the API would be open)",
            ),
        ];
        for (text, why) in cases {
            assert!(Keys::from_toml(text).is_err(), "accepted a file with {why}");
        }
    }
}
