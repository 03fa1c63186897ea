//! Sensitive-information detectors: US social security numbers, payment
//! card numbers and Japanese My Numbers (個人番号), found in the subject,
//! the bodies and text attachments after NFKC normalisation (so full-width
//! digits count). A number is a maximal run of digits with single spaces,
//! dashes or line breaks between groups: digits that continue a longer run
//! never match on their own.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    UsSsn,
    CreditCard,
    MyNumber,
}

impl Kind {
    pub const VALUES: &'static str = "us-ssn, credit-card, my-number";

    pub fn parse(text: &str) -> Option<Kind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "us-ssn" | "ssn" => Some(Kind::UsSsn),
            "credit-card" | "card" => Some(Kind::CreditCard),
            "my-number" | "mynumber" => Some(Kind::MyNumber),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::UsSsn => "us-ssn",
            Kind::CreditCard => "credit-card",
            Kind::MyNumber => "my-number",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::UsSsn => "a US social security number",
            Kind::CreditCard => "a credit card number",
            Kind::MyNumber => "a My Number",
        }
    }
}

/// `--contains-sensitive KIND[:MIN]`: at least MIN distinct numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    pub kind: Kind,
    pub min: u32,
}

impl Wanted {
    pub fn parse(text: &str) -> Result<Wanted, String> {
        let (kind, min) = match text.split_once(':') {
            Some((k, m)) => (
                k,
                m.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=1000).contains(m))
                    .ok_or_else(|| format!("'{m}' is not a count from 1 to 1000"))?,
            ),
            None => (text, 1),
        };
        let kind = Kind::parse(kind)
            .ok_or_else(|| format!("'{}' is not one of: {}", kind.trim(), Kind::VALUES))?;
        Ok(Wanted { kind, min })
    }

    pub fn describe(&self) -> String {
        if self.min == 1 {
            format!("{} (1 or more)", self.kind.as_str())
        } else {
            format!("{} ({} or more)", self.kind.as_str(), self.min)
        }
    }
}

/// A run of digits as written: the digits, and the groups between
/// separators with the separators themselves.
struct Candidate {
    digits: String,
    groups: Vec<usize>,
    /// The separators between groups (' ', '-', or '\n' for a line break).
    separators: Vec<char>,
    /// Byte offsets in the normalised text, for keywords nearby.
    start: usize,
    end: usize,
}

fn candidates(text: &str) -> Vec<Candidate> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let starts_run = c.is_ascii_digit()
            && !(i > 0 && (chars[i - 1].1.is_ascii_digit() || is_alnum_joiner(chars[i - 1].1)));
        if !starts_run {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut groups = vec![0usize];
        let mut separators = Vec::new();
        let mut j = i;
        loop {
            while j < chars.len() && chars[j].1.is_ascii_digit() {
                digits.push(chars[j].1);
                *groups.last_mut().expect("a group") += 1;
                j += 1;
            }
            // One separator (a space, a dash, or a line break with the
            // indentation after it, maybe after a dash) and a digit after it.
            let mut k = j;
            let mut sep = None;
            if k < chars.len() && matches!(chars[k].1, ' ' | '-' | '\t') {
                sep = Some(if chars[k].1 == '-' { '-' } else { ' ' });
                k += 1;
            }
            let mut broke = false;
            if k < chars.len() && chars[k].1 == '\r' {
                k += 1;
            }
            if k < chars.len() && chars[k].1 == '\n' {
                k += 1;
                broke = true;
                while k < chars.len() && matches!(chars[k].1, ' ' | '\t') {
                    k += 1;
                }
            }
            if (sep.is_some() || broke) && k < chars.len() && chars[k].1.is_ascii_digit() {
                separators.push(sep.unwrap_or('\n'));
                groups.push(0);
                j = k;
            } else {
                break;
            }
        }
        let end = chars.get(j).map_or(text.len(), |(at, _)| *at);
        // Glued to letters (a part number, an order code): not a number.
        let glued = chars.get(j).is_some_and(|(_, c)| is_alnum_joiner(*c));
        if !glued {
            out.push(Candidate {
                digits,
                groups,
                separators,
                start,
                end,
            });
        }
        i = j.max(i + 1);
    }
    out
}

fn is_alnum_joiner(c: char) -> bool {
    c.is_alphanumeric() && !c.is_ascii_digit() && c.is_ascii()
}

/// A window of whole groups of a run, and the separators around it.
struct Window {
    digits: String,
    groups: Vec<usize>,
    separators: Vec<char>,
}

/// Windows of whole groups: a run that holds several numbers one after the
/// other ("tel 555 0100 SSN 123-45-6789") still yields each of them, but
/// never digits cut out of a group, nor a window whose neighbours are
/// joined to it the way its own groups are ("555-123-45-6789").
fn windows(c: &Candidate) -> Vec<Window> {
    let mut out = Vec::new();
    let n = c.groups.len();
    let mut offsets = vec![0];
    for g in &c.groups {
        offsets.push(offsets.last().expect("an offset") + g);
    }
    for a in 0..n {
        for b in a + 1..=n {
            if offsets[b] - offsets[a] > 19 {
                break;
            }
            let separators = c.separators[a..b - 1].to_vec();
            let around = [
                a.checked_sub(1).map(|i| c.separators[i]),
                c.separators.get(b - 1).copied(),
            ];
            // A line break can sit inside a number or between two.
            let inner = separators
                .iter()
                .find(|s| **s != '\n')
                .copied()
                .unwrap_or(' ');
            if around.iter().flatten().all(|s| *s == '\n' || *s != inner) {
                out.push(Window {
                    digits: c.digits[offsets[a]..offsets[b]].to_string(),
                    groups: c.groups[a..b].to_vec(),
                    separators,
                });
            }
        }
    }
    out
}

const SSN_KEYWORDS: &[&str] = &[
    "ssn",
    "ss#",
    "ss #",
    "social security",
    "soc sec",
    "社会保障番号",
];

fn ssn_valid(digits: &str) -> bool {
    let area: u32 = digits[0..3].parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && &digits[3..5] != "00" && &digits[5..9] != "0000"
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Issuer prefixes and lengths (ISO/IEC 7812 ranges the networks publish).
fn card_issuer_known(digits: &str) -> bool {
    let len = digits.len();
    let prefix = |n: usize| digits[..n].parse::<u32>().unwrap_or(0);
    let in_range = |n: usize, lo: u32, hi: u32| (lo..=hi).contains(&prefix(n));
    (digits.starts_with('4') && matches!(len, 13 | 16 | 19))
        || ((in_range(2, 51, 55) || in_range(4, 2221, 2720)) && len == 16)
        || ((in_range(2, 34, 34) || in_range(2, 37, 37)) && len == 15)
        || ((in_range(4, 6011, 6011) || in_range(2, 65, 65) || in_range(3, 644, 649))
            && (16..=19).contains(&len))
        || (in_range(4, 3528, 3589) && (16..=19).contains(&len))
        || ((in_range(3, 300, 305) || in_range(2, 36, 36) || in_range(2, 38, 39))
            && (14..=19).contains(&len))
        || (in_range(2, 62, 62) && (16..=19).contains(&len))
}

/// The check digit of the 個人番号 (行政手続における特定の個人を識別するための
/// 番号の利用等に関する法律施行令 第8条).
fn my_number_valid(digits: &str) -> bool {
    let d: Vec<u32> = digits.bytes().map(|b| (b - b'0') as u32).collect();
    let sum: u32 = (1..=11)
        .map(|n| {
            let p = d[11 - n];
            let q = if n <= 6 { n as u32 + 1 } else { n as u32 - 5 };
            p * q
        })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    d[11] == check
}

/// The distinct numbers of `kind` in these texts (digits only).
pub fn find(kind: Kind, texts: &[String]) -> BTreeSet<String> {
    let folded: Vec<String> = texts.iter().map(|t| super::fold::fold(t)).collect();
    let [ssn, card, my_number] = find_all(&folded);
    match kind {
        Kind::UsSsn => ssn,
        Kind::CreditCard => card,
        Kind::MyNumber => my_number,
    }
}

/// Every kind in one pass, over texts already NFKC-normalised and in lower
/// case (the rules' facts hold them so), indexed by `Kind as usize`.
pub fn find_all(folded: &[String]) -> [BTreeSet<String>; 3] {
    let mut found: [BTreeSet<String>; 3] = Default::default();
    for text in folded {
        if !text.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        // Dashes that NFKC leaves as they are.
        const DASHES: [char; 7] = ['‐', '‑', '‒', '–', '—', '−', 'ー'];
        let text = if text.contains(DASHES) {
            std::borrow::Cow::Owned(text.replace(DASHES, "-"))
        } else {
            std::borrow::Cow::Borrowed(text.as_str())
        };
        for c in candidates(&text) {
            if c.digits.len() < 9 {
                continue;
            }
            for w in windows(&c) {
                let only = |s: char| w.separators.iter().all(|x| *x == s || *x == '\n');
                let digits = &w.digits;
                if digits.len() == 9
                    && ssn_valid(digits)
                    && ((w.groups == [3, 2, 4] && only('-') && w.separators.contains(&'-'))
                        || ((w.groups.len() == 1 || (w.groups == [3, 2, 4] && only(' ')))
                            && keyword_near(&text, c.start, c.end, SSN_KEYWORDS)))
                {
                    found[Kind::UsSsn as usize].insert(digits.clone());
                }
                if (13..=19).contains(&digits.len())
                    && (only(' ') || only('-'))
                    && card_issuer_known(digits)
                    && luhn(digits)
                {
                    found[Kind::CreditCard as usize].insert(digits.clone());
                }
                if digits.len() == 12
                    && (w.groups.len() == 1 || (w.groups == [4, 4, 4] && (only(' ') || only('-'))))
                    && my_number_valid(digits)
                {
                    found[Kind::MyNumber as usize].insert(digits.clone());
                }
            }
        }
    }
    found
}

fn keyword_near(lower: &str, start: usize, end: usize, keywords: &[&str]) -> bool {
    let from = lower.floor_char_boundary(start.saturating_sub(60));
    let to = lower.ceil_char_boundary((end + 60).min(lower.len()));
    let near = &lower[from..to];
    keywords.iter().any(|k| near.contains(k))
}

/// For `rule test`: the kind's layout with all but the last four digits
/// hidden (`***-**-1120`).
pub fn mask(kind: Kind, digits: &str) -> String {
    let last = &digits[digits.len().saturating_sub(4)..];
    match kind {
        Kind::UsSsn => format!("***-**-{last}"),
        Kind::CreditCard => format!("{}{last}", "*".repeat(digits.len() - 4)),
        Kind::MyNumber => format!("****-****-{last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: Kind, text: &str) -> Vec<String> {
        find(kind, &[text.to_string()]).into_iter().collect()
    }

    #[test]
    fn social_security_numbers() {
        let yes = [
            ("SSN 123-45-1120", "123451120"),
            ("number: 078-05-1120.", "078051120"),
            ("１２３－４５－１１２０", "123451120"),
            ("ssn: 123451120", "123451120"),
            ("Social Security number 123 45 1120", "123451120"),
            ("split 123-45-\r\n1120 over lines", "123451120"),
        ];
        for (text, digits) in yes {
            assert_eq!(found(Kind::UsSsn, text), [digits], "{text}");
        }
        let no = [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "call 123451120",
            "9123-45-11201",
            "order 1123-45-1120",
            "123-45-11201",
            "A123-45-1120",
            "123-45-1120B",
        ];
        for text in no {
            assert!(found(Kind::UsSsn, text).is_empty(), "{text}");
        }
        assert_eq!(
            found(Kind::UsSsn, "123-45-1120 and 123-45-1120, 234-56-7890").len(),
            2
        );
    }

    #[test]
    fn card_numbers() {
        let yes = [
            ("Visa 4111 1111 1111 1111", "4111111111111111"),
            ("MC 5555-5555-5555-4444", "5555555555554444"),
            ("amex 378282246310005", "378282246310005"),
            ("JCB 3530111333300000", "3530111333300000"),
            ("４１１１１１１１１１１１１１１１", "4111111111111111"),
            ("4111 1111\r\n1111 1111", "4111111111111111"),
            ("2-series 2223 0031 2200 3222", "2223003122003222"),
        ];
        for (text, digits) in yes {
            assert_eq!(found(Kind::CreditCard, text), [digits], "{text}");
        }
        let no = [
            "4111 1111 1111 1112",
            "1234 5678 9012 3456",
            "99994111111111111111",
            "X4111111111111111",
            "4111-1111 1111-1111",
            "3111 1111 1111 1117",
        ];
        for text in no {
            assert!(found(Kind::CreditCard, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn my_numbers() {
        // 12345678901 → check digit 8 (施行令 §8).
        assert!(my_number_valid("123456789018"));
        let yes = [
            ("個人番号 123456789018", "123456789018"),
            ("1234 5678 9018", "123456789018"),
            ("１２３４５６７８９０１８", "123456789018"),
            ("1234-5678-\n9018", "123456789018"),
        ];
        for (text, digits) in yes {
            assert_eq!(found(Kind::MyNumber, text), [digits], "{text}");
        }
        let no = [
            "123456789012",
            "1123456789018",
            "1234567890189",
            "12345 678 9018",
        ];
        for text in no {
            assert!(found(Kind::MyNumber, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn masks_and_counts() {
        assert_eq!(mask(Kind::UsSsn, "123451120"), "***-**-1120");
        assert_eq!(
            mask(Kind::CreditCard, "4111111111111111"),
            "************1111"
        );
        assert_eq!(
            Wanted::parse("us-ssn:2").unwrap(),
            Wanted {
                kind: Kind::UsSsn,
                min: 2
            }
        );
        assert_eq!(Wanted::parse("Credit-Card").unwrap().min, 1);
        assert!(Wanted::parse("passport").is_err());
        assert!(Wanted::parse("us-ssn:0").is_err());
    }
}
