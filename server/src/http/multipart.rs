//! Forms with files (compose, a portal reply), read within the message
//! size limit: no part is kept beyond it.

use crate::mime::Attachment;
use axum::extract::Multipart;

pub enum Refusal {
    Input(String),
    TooBig(usize),
}

/// The text fields, in order, and the files chosen. Refused as too big as
/// soon as everything read passes `limit`.
pub async fn read_multipart(
    multipart: &mut Multipart,
    limit: usize,
) -> Result<(Vec<(String, String)>, Vec<Attachment>), Refusal> {
    let mut fields = Vec::new();
    let mut attachments = Vec::new();
    let mut total = 0usize;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| Refusal::Input("The form could not be read. Please try again.".into()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "attachments" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let content_type = media_type(field.content_type());
            let data = field.bytes().await.map_err(|_| Refusal::TooBig(limit))?;
            if file_name.is_empty() && data.is_empty() {
                continue; // the browser sends an empty part when no file was chosen
            }
            total += data.len();
            if total > limit {
                return Err(Refusal::TooBig(limit));
            }
            attachments.push(Attachment {
                name: if file_name.is_empty() {
                    "attachment".into()
                } else {
                    file_name
                },
                content_type,
                data: data.to_vec(),
            });
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|_| Refusal::Input("The form could not be read.".into()))?;
        total += text.len();
        if total > limit {
            return Err(Refusal::TooBig(limit));
        }
        fields.push((name, text));
    }
    Ok((fields, attachments))
}

/// Only `type/subtype` of what a client says a file is, and only when it is
/// a plain token pair: its parameters are not ours to pass on.
pub fn media_type(said: Option<&str>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
    };
    said.and_then(|t| t.split(';').next())
        .map(str::trim)
        .filter(|t| t.split_once('/').is_some_and(|(a, b)| token(a) && token(b)))
        .unwrap_or("application/octet-stream")
        .to_ascii_lowercase()
}
