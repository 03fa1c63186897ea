//! The branded notification a link-based recipient gets: who sent a
//! protected message, its subject, and the link to the portal. It never
//! carries message content.

use crate::config::Language;
use crate::store::TemplateRow;
use mail_builder::MessageBuilder;

pub struct Notice<'a> {
    pub sender: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub link: &'a str,
    pub template: &'a TemplateRow,
    pub message_id: &'a str,
    pub language: Language,
    /// `SEALPOST_ORGANIZATION_NAME`, when set.
    pub organization: Option<&'a str>,
}

struct Texts {
    intro: String,
    button: String,
    plain_link: &'static str,
    from_organization: Option<String>,
    privacy: &'static str,
}

fn texts(n: &Notice<'_>) -> Texts {
    let (intro, button, plain_link, privacy) = match n.language {
        Language::En => (
            format!("{} has sent you a protected message.", n.sender),
            "Read the message",
            "If the button does not work, open this link:",
            "Privacy statement",
        ),
        Language::Ja => (
            format!("{} さんから保護されたメッセージが届きました。", n.sender),
            "メッセージを読む",
            "ボタンが機能しない場合は、次のリンクを開いてください:",
            "プライバシーに関する声明",
        ),
    };
    let from_organization = n.organization.map(|org| match n.language {
        Language::En => format!("This notification comes from {org}'s secure mail."),
        Language::Ja => format!("この通知は {org} のセキュア メールから送信されました。"),
    });
    Texts {
        intro: n
            .template
            .introduction_text
            .clone()
            .map(|t| format!("{} {t}", intro))
            .unwrap_or(intro),
        button: n
            .template
            .read_button_text
            .clone()
            .unwrap_or_else(|| button.to_string()),
        plain_link,
        from_organization,
        privacy,
    }
}

pub use app::dto::readable_text_on as text_color_on;

/// Text as HTML (element content or a quoted attribute).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn build(n: &Notice<'_>) -> Vec<u8> {
    let t = texts(n);
    let color = n
        .template
        .background_color
        .clone()
        .unwrap_or_else(|| "#1f4e79".to_string());
    let on_color = text_color_on(&color);
    let mut text = format!("{}\n\n{}\n\n{}: {}\n", t.intro, n.subject, t.button, n.link);
    let mut html = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif;margin:0\">\
         <div style=\"background:{color};color:{on_color};padding:16px\">{logo}<p style=\"margin:0;font-size:18px\">{}</p></div>\
         <div style=\"padding:16px\"><p><strong>{}</strong></p>\
         <p><a href=\"{link}\" style=\"display:inline-block;background:{color};color:{on_color};padding:10px 18px;border-radius:6px;text-decoration:none\">{}</a></p>\
         <p style=\"font-size:13px\">{} <a href=\"{link}\">{link}</a></p>",
        escape(&t.intro),
        escape(n.subject),
        escape(&t.button),
        t.plain_link,
        link = escape(n.link),
        logo = if n.template.logo.is_some() {
            "<img src=\"cid:logo\" alt=\"\" height=\"40\" style=\"display:block;margin-bottom:8px\">"
        } else {
            ""
        },
    );
    if let Some(email_text) = &n.template.email_text {
        text.push_str(&format!("\n{email_text}\n"));
        html.push_str(&format!("<p>{}</p>", escape(email_text)));
    }
    if let Some(disclaimer) = &n.template.disclaimer_text {
        text.push_str(&format!("\n{disclaimer}\n"));
        html.push_str(&format!(
            "<p style=\"font-size:12px;color:#4a5560\">{}</p>",
            escape(disclaimer)
        ));
    }
    if let Some(line) = &t.from_organization {
        text.push_str(&format!("\n{line}\n"));
        html.push_str(&format!("<p style=\"font-size:13px\">{}</p>", escape(line)));
    }
    if let Some(url) = &n.template.privacy_statement_url {
        text.push_str(&format!("\n{}: {url}\n", t.privacy));
        html.push_str(&format!(
            "<p style=\"font-size:12px\"><a href=\"{url}\">{}</a></p>",
            t.privacy,
            url = escape(url)
        ));
    }
    html.push_str("</div></body></html>");
    let mut builder = MessageBuilder::new();
    if let (Some(logo), Some(kind)) = (&n.template.logo, &n.template.logo_content_type) {
        builder = builder.inline(kind.clone(), "logo", logo.as_slice());
    }
    builder
        .from(n.sender)
        .to(n.recipient)
        .subject(n.subject)
        .message_id(n.message_id.trim_matches(['<', '>']))
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-generated"),
        )
        .text_body(text)
        .html_body(html)
        .write_to_vec()
        .expect("writing to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_readable_on_any_color() {
        assert_eq!(text_color_on("#1f4e79"), "#ffffff");
        assert_eq!(text_color_on("#ffff00"), "#000000");
        assert_eq!(text_color_on("#ffffff"), "#000000");
    }
}
