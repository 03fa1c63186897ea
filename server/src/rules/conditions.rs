//! A rule's conditions: all that are set must match.

use super::facts::Facts;
use super::glob;
use super::sensitive::Wanted;
use crate::domain::InternalDomains;
use crate::domain::{EmailAddress, domain_is_valid};
use serde::{Deserialize, Serialize};

/// An address (`alice@corp.example`) or a domain (`corp.example`, which
/// also matches its subdomains).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AddressPattern(String);

impl AddressPattern {
    pub fn parse(input: &str) -> Result<Self, String> {
        let text = input.trim().trim_start_matches('@').to_lowercase();
        if text.contains('@') {
            return EmailAddress::parse(&text)
                .map(|a| AddressPattern(a.as_str().to_string()))
                .map_err(|e| e.to_string());
        }
        if domain_is_valid(&text) {
            Ok(AddressPattern(text))
        } else {
            Err(format!(
                "'{}' is neither an email address nor a domain name",
                input.chars().take(80).collect::<String>()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, address: &str) -> bool {
        let address = address.to_lowercase();
        if self.0.contains('@') {
            return address == self.0;
        }
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        domain == self.0 || domain.ends_with(&format!(".{}", self.0))
    }
}

impl TryFrom<String> for AddressPattern {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        AddressPattern::parse(&value)
    }
}

impl From<AddressPattern> for String {
    fn from(value: AddressPattern) -> String {
        value.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// At least one recipient outside the internal domains.
    External,
    /// At least one recipient in the internal domains.
    Internal,
}

impl Scope {
    pub const VALUES: &'static str = "external, internal";

    pub fn parse(text: &str) -> Option<Scope> {
        match text.trim().to_ascii_lowercase().as_str() {
            "external" | "notinorganization" => Some(Scope::External),
            "internal" | "inorganization" => Some(Scope::Internal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::External => "external",
            Scope::Internal => "internal",
        }
    }
}

/// The conditions as stored; `Compiled` is what runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Conditions {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<AddressPattern>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sent_to: Vec<AddressPattern>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to_scope: Option<Scope>,
    /// Any of these words, without regard to case (NFKC-folded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_or_body_contains: Vec<String>,
    /// A regular expression (Rust's `regex`), case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_or_body_matches: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_name_matches: Option<String>,
    /// `application/pdf`, or `image/*` for a whole kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_type: Option<String>,
    /// In bytes, of the message as the rules see it (decrypted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_over: Option<u64>,
    /// Any of these kinds, each with its minimum count of distinct numbers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contains_sensitive: Vec<Wanted>,
}

/// Regular expressions are bounded: a rule cannot make the pipeline build
/// an automaton of unbounded size.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
            e => format!(
                "not a valid regular expression: {}",
                e.to_string().lines().last().unwrap_or_default().trim()
            ),
        })
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    pub fn compile(&self) -> Result<Compiled, String> {
        Ok(Compiled {
            conditions: self.clone(),
            words: self
                .subject_or_body_contains
                .iter()
                .map(|w| super::fold::fold(w))
                .collect(),
            regex: self
                .subject_or_body_matches
                .as_deref()
                .map(compile_regex)
                .transpose()?,
        })
    }

    /// One line per condition, as `rule show` and the admin page say them.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let list = |items: &[AddressPattern]| {
            items
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        };
        if !self.from.is_empty() {
            lines.push(format!("the sender is {}", list(&self.from)));
        }
        if !self.sent_to.is_empty() {
            lines.push(format!("a recipient is {}", list(&self.sent_to)));
        }
        if let Some(scope) = self.sent_to_scope {
            lines.push(match scope {
                Scope::External => "a recipient is outside the organization".to_string(),
                Scope::Internal => "a recipient is inside the organization".to_string(),
            });
        }
        if !self.subject_or_body_contains.is_empty() {
            let words: Vec<String> = self
                .subject_or_body_contains
                .iter()
                .map(|w| format!("'{w}'"))
                .collect();
            lines.push(format!(
                "the subject or body contains {}",
                words.join(" or ")
            ));
        }
        if let Some(pattern) = &self.subject_or_body_matches {
            lines.push(format!("the subject or body matches /{pattern}/"));
        }
        if let Some(glob) = &self.attachment_name_matches {
            lines.push(format!("an attachment's name matches '{glob}'"));
        }
        if let Some(kind) = &self.attachment_type {
            lines.push(format!("an attachment is of type {kind}"));
        }
        if let Some(size) = self.size_over {
            lines.push(format!(
                "the message is larger than {}",
                crate::domain::format_size(size)
            ));
        }
        if !self.contains_sensitive.is_empty() {
            let kinds: Vec<String> = self
                .contains_sensitive
                .iter()
                .map(|w| match w.min {
                    1 => w.kind.label().to_string(),
                    n => format!("{n} or more of {}", w.kind.label().trim_start_matches("a ")),
                })
                .collect();
            lines.push(format!("the message contains {}", kinds.join(" or ")));
        }
        lines
    }
}

/// Conditions ready to run against a message.
pub struct Compiled {
    pub conditions: Conditions,
    words: Vec<String>,
    regex: Option<regex::Regex>,
}

impl Compiled {
    pub fn matches(&self, facts: &Facts, internal_domains: &InternalDomains) -> bool {
        let c = &self.conditions;
        if !c.from.is_empty() && !c.from.iter().any(|p| p.matches(&facts.sender)) {
            return false;
        }
        if !c.sent_to.is_empty()
            && !facts
                .recipients
                .iter()
                .any(|r| c.sent_to.iter().any(|p| p.matches(r)))
        {
            return false;
        }
        if let Some(scope) = c.sent_to_scope {
            let wanted = scope == Scope::Internal;
            if !facts
                .recipients
                .iter()
                .any(|r| internal_domains.contains(r) == wanted)
            {
                return false;
            }
        }
        if !self.words.is_empty() && !self.words.iter().any(|w| facts.folded.contains(w.as_str())) {
            return false;
        }
        if let Some(regex) = &self.regex
            && !facts.texts.iter().any(|t| regex.is_match(t))
        {
            return false;
        }
        if let Some(glob) = &c.attachment_name_matches
            && !facts
                .attachments
                .iter()
                .any(|(name, _)| glob::matches(glob, name))
        {
            return false;
        }
        if let Some(kind) = &c.attachment_type
            && !facts.attachments.iter().any(|(_, t)| type_matches(kind, t))
        {
            return false;
        }
        if let Some(limit) = c.size_over
            && facts.size as u64 <= limit
        {
            return false;
        }
        if !c.contains_sensitive.is_empty()
            && !c
                .contains_sensitive
                .iter()
                .any(|w| facts.sensitive(w.kind).len() >= w.min as usize)
        {
            return false;
        }
        true
    }
}

fn type_matches(wanted: &str, actual: &str) -> bool {
    match wanted.strip_suffix("/*") {
        Some(kind) => actual.split('/').next() == Some(kind),
        None => wanted == actual,
    }
}

/// The allowed shape of a MIME type condition.
pub fn parse_mime_type(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match t.split_once('/') {
        Some((kind, sub)) if token(kind) && (token(sub) || sub == "*") => Ok(t),
        _ => Err(format!(
            "'{text}' is not a MIME type such as application/pdf or image/*"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_domains() {
        let domain = AddressPattern::parse("Corp.Example").unwrap();
        assert!(domain.matches("alice@corp.example"));
        assert!(domain.matches("bob@mail.corp.example"));
        assert!(!domain.matches("eve@notcorp.example"));
        let one = AddressPattern::parse("alice@corp.example").unwrap();
        assert!(one.matches("Alice@Corp.Example"));
        assert!(!one.matches("bob@corp.example"));
        assert_eq!(AddressPattern::parse("@corp.example").unwrap(), domain);
        assert!(AddressPattern::parse("not a domain").is_err());
    }

    #[test]
    fn mime_types() {
        assert_eq!(
            parse_mime_type("Application/PDF").unwrap(),
            "application/pdf"
        );
        assert_eq!(parse_mime_type("image/*").unwrap(), "image/*");
        assert!(parse_mime_type("pdf").is_err());
        assert!(type_matches("image/*", "image/png"));
        assert!(!type_matches("image/*", "application/png"));
    }

    #[test]
    fn a_bad_regex_says_why() {
        let e = compile_regex("(unclosed").unwrap_err();
        assert!(e.starts_with("not a valid regular expression"), "{e}");
    }
}
