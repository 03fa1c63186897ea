//! The one form every text a rule reads is compared in.

/// Lower case after NFKC: what word matches and the number detectors read
/// (full-width digits and letters become their ASCII forms).
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect::<String>().to_lowercase()
}
