//! File-name patterns for `--attachment-name-matches`: `*` any run of
//! characters, `?` one character, compared without regard to case, as
//! administrators know them from file managers.

/// True when `name` matches `pattern` as a whole.
pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let name: Vec<char> = name.to_lowercase().chars().collect();
    // The classic two-pointer match with one backtrack point for the last
    // `*`: linear in practice, never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some('?') => {
                p += 1;
                n += 1;
            }
            Some(c) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("*.exe", "setup.EXE"));
        assert!(matches("invoice-??.pdf", "invoice-07.pdf"));
        assert!(!matches("invoice-??.pdf", "invoice-7.pdf"));
        assert!(matches("*", ""));
        assert!(matches("*report*", "Q3 report final.xlsx"));
        assert!(!matches("*.exe", "setup.exe.txt"));
        assert!(matches("見積*.pdf", "見積書.pdf"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
    }
}
