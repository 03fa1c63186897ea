//! Message-IDs as they are stored and looked up.

/// `<id@host>` whether or not the caller typed the angle brackets.
pub fn normalise_message_id(text: &str) -> String {
    format!(
        "<{}>",
        text.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_added_once() {
        assert_eq!(normalise_message_id("a@corp.example"), "<a@corp.example>");
        assert_eq!(
            normalise_message_id(" <a@corp.example> "),
            "<a@corp.example>"
        );
        assert_eq!(
            normalise_message_id("<<a@corp.example>>"),
            "<a@corp.example>"
        );
    }
}
