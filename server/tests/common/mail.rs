//! Mail as the tests send it: one builder for every test's message, so the
//! headers a test relies on are written in one place.

pub struct Mail {
    from: String,
    to: Vec<String>,
    subject: String,
    dated: bool,
    with_id: bool,
    text: Option<Option<&'static str>>,
    body: String,
    final_line_break: bool,
}

impl Mail {
    /// `From`, `To` (the addresses joined with ", ") and `Subject`.
    pub fn new(from: &str, to: &[&str], subject: &str) -> Mail {
        Mail {
            from: from.to_string(),
            to: to.iter().map(|a| a.to_string()).collect(),
            subject: subject.to_string(),
            dated: false,
            with_id: false,
            text: None,
            body: String::new(),
            final_line_break: true,
        }
    }

    /// A fixed `Date` (Mon, 23 Nov 2026 09:15:02 +0000).
    pub fn dated(mut self) -> Mail {
        self.dated = true;
        self
    }

    /// A fresh `Message-ID` in corp.example.
    pub fn with_id(mut self) -> Mail {
        self.with_id = true;
        self
    }

    /// MIME plain text in UTF-8, with this transfer encoding if given.
    pub fn utf8_text(mut self, encoding: Option<&'static str>) -> Mail {
        self.text = Some(encoding);
        self
    }

    /// The body; a line break follows it unless `without_final_line_break`.
    pub fn body(mut self, body: &str) -> Mail {
        self.body = body.to_string();
        self
    }

    /// Without the final line break: lettre adds it itself.
    pub fn without_final_line_break(mut self) -> Mail {
        self.final_line_break = false;
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\n",
            self.from,
            self.to.join(", "),
            self.subject
        );
        if self.dated {
            out.push_str("Date: Mon, 23 Nov 2026 09:15:02 +0000\r\n");
        }
        if self.with_id {
            let id = uuid::Uuid::new_v4().simple();
            out.push_str(&format!("Message-ID: <{id}@corp.example>\r\n"));
        }
        if let Some(encoding) = self.text {
            out.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
            if let Some(encoding) = encoding {
                out.push_str(&format!("Content-Transfer-Encoding: {encoding}\r\n"));
            }
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        if self.final_line_break {
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}
