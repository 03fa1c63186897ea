use std::fmt;

/// An email address as sealpost stores and compares it: trimmed and in lower
/// case, so that `Alice@Corp.Example` and `alice@corp.example` are one person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{input}' is not a valid email address: {reason}")]
pub struct EmailError {
    input: String,
    reason: &'static str,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let fail = |reason| EmailError {
            input: input.chars().take(80).collect(),
            reason,
        };
        let address = input.trim().to_lowercase();
        if address.is_empty() {
            return Err(fail("it is empty"));
        }
        if address.len() > 254 {
            return Err(fail("it is longer than 254 characters"));
        }
        let (local, domain) = address
            .rsplit_once('@')
            .ok_or_else(|| fail("it has no '@'"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(fail("the part before '@' must be 1 to 64 characters"));
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(fail(
                "the part before '@' has characters mail does not allow",
            ));
        }
        if !is_domain(domain) {
            return Err(fail("the part after '@' is not a domain name"));
        }
        Ok(EmailAddress(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// A host name of letters, digits and hyphens, dot-separated; `localhost`
/// (one label) is allowed so the embedded default's `admin@localhost` works.
pub fn is_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_to_lower_case() {
        let a = EmailAddress::parse("  Alice@Corp.Example ").unwrap();
        assert_eq!(a.as_str(), "alice@corp.example");
        assert_eq!(a.domain(), "corp.example");
    }

    #[test]
    fn the_embedded_default_admin_address_is_valid() {
        assert!(EmailAddress::parse("admin@localhost").is_ok());
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_reason() {
        for bad in [
            "",
            "alice",
            "@corp.example",
            "alice@",
            "al ice@corp.example",
            "alice@corp..example",
            "alice@-corp.example",
            ".alice@corp.example",
            "alice@corp.example\r\nBcc: x@y.z",
        ] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("is not a valid email address"),
                "{bad}"
            );
        }
    }
}
