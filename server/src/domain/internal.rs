//! The organization's own mail domains: mail to them gets inline copies,
//! mail from them may be told about what became of it.

use super::domain_is_valid;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InternalDomains(Vec<String>);

impl InternalDomains {
    /// Lower-cased; the first entry that is not a domain name is refused.
    pub fn parse(domains: impl IntoIterator<Item = String>) -> Result<InternalDomains, String> {
        domains
            .into_iter()
            .map(|d| {
                let d = d.trim().to_lowercase();
                if domain_is_valid(&d) {
                    Ok(d)
                } else {
                    Err(format!("'{d}' is not a domain name"))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(InternalDomains)
    }

    /// An address in one of these domains (its domain compared without case).
    pub fn contains(&self, address: &str) -> bool {
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        self.0.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_internal_by_its_domain_whatever_its_case() {
        let ours = InternalDomains::parse(["Corp.example".to_string()]).unwrap();
        assert!(ours.contains("alice@corp.example"));
        assert!(ours.contains("Alice@CORP.EXAMPLE"));
        assert!(!ours.contains("eve@evilcorp.example"));
        assert!(!ours.contains("eve@corp.example.evil"));
        assert!(!ours.contains("corp.example"));
        assert!(InternalDomains::parse(["not a domain".to_string()]).is_err());
    }
}
