//! The recipient-facing words, in English and Japanese.
//!
//! The server picks the language per request (a `?lang=` switch, then the
//! `lang` cookie the switch leaves, then `Accept-Language`) and writes it into
//! `<html lang>`. The recipient's pages load no script, and the islands of
//! the organization's pages (in English) use no words from here.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

/// The cookie the language switch sets.
pub const COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
        }
    }

    /// `en`, `ja`, or a tag of theirs such as `ja-JP`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// The supported language the browser prefers most (RFC 9110 q-values;
    /// ties keep the browser's order).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut pieces = item.split(';');
            let Some(lang) = pieces.next().and_then(Lang::parse) else {
                continue;
            };
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The language for a request: `?lang=`, the cookie, the browser's
    /// preference, English. The first result says whether the query chose it
    /// (the page then remembers the choice in the cookie).
    pub fn of_request(
        query: Option<&str>,
        cookie: Option<&str>,
        accept: Option<&str>,
    ) -> (Lang, bool) {
        let from_query = query.and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.strip_prefix("lang="))
                .find_map(Lang::parse)
        });
        if let Some(lang) = from_query {
            return (lang, true);
        }
        let from_cookie = cookie.and_then(|c| {
            c.split(';')
                .filter_map(|pair| pair.trim().strip_prefix("lang="))
                .find_map(Lang::parse)
        });
        let lang = from_cookie
            .or_else(|| accept.and_then(Lang::from_accept_language))
            .unwrap_or_default();
        (lang, false)
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }
}

#[cfg(feature = "ssr")]
impl Lang {
    /// [`Lang::of_request`] on an HTTP request.
    pub fn of_parts(parts: &http::request::Parts) -> (Lang, bool) {
        Lang::of_headers(&parts.headers, parts.uri.query())
    }

    pub fn of_headers(headers: &http::HeaderMap, query: Option<&str>) -> (Lang, bool) {
        let header = |name| {
            headers
                .get_all(&name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(if name == http::header::COOKIE {
                    ";"
                } else {
                    ","
                })
        };
        let cookie = header(http::header::COOKIE);
        let accept = header(http::header::ACCEPT_LANGUAGE);
        Lang::of_request(query, Some(&cookie), Some(&accept))
    }
}

/// Every recipient-facing text. Texts with parts to fill in are functions.
pub struct Texts {
    pub skip: &'static str,
    pub language: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub not_found_link: &'static str,
    pub unavailable: &'static str,

    pub invalid_title: &'static str,
    pub invalid_hint: &'static str,
    pub revoked_title: &'static str,
    pub revoked_hint: &'static str,
    pub expired_title: &'static str,
    pub expired_hint: &'static str,
    pub removed_title: &'static str,
    pub removed_hint: &'static str,
    pub privacy: &'static str,
    pub reply_heading: &'static str,
    pub reply_label: &'static str,
    pub reply_attachments: &'static str,
    pub reply_hint: fn(&str, u64) -> String,
    pub reply_button: &'static str,
    pub reply_all_button: &'static str,
    pub reply_all_hint: fn(&str) -> String,
    pub reply_sent: fn(&str) -> String,
    pub reply_empty: &'static str,
    pub reply_too_big: fn(usize) -> String,
    pub reply_attachment_refused: &'static str,
    pub too_many_replies: fn(i64, &str) -> String,
    pub your_replies: &'static str,
    pub replied_to: fn(&str) -> String,
    pub wrong_person_title: &'static str,
    pub wrong_person: fn(&str, &str) -> String,
    pub sign_out_and_in: fn(&str) -> String,

    pub landing_title: &'static str,
    pub logo_alt: &'static str,
    pub sent_you: fn(&str) -> String,
    pub sign_in_with: fn(&str) -> String,
    pub otp_disabled: &'static str,
    pub prove: &'static str,
    pub sign_in_otp: &'static str,
    pub code_sent: fn(&str, &str) -> String,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub remember: &'static str,
    pub continue_: &'static str,
    pub new_code: &'static str,

    pub from: &'static str,
    pub to: &'static str,
    pub date: &'static str,
    pub expires: &'static str,
    pub do_not_forward: &'static str,
    pub attachments: &'static str,
    pub kilobytes: fn(u64) -> String,
    pub sign_out: &'static str,

    /// "in 5 minutes (at 14:05 UTC)": minutes, then the clock time.
    pub when: fn(u64, &str) -> String,
    pub form_expired: &'static str,
    pub form_too_large: &'static str,
    pub form_incomplete: &'static str,
    pub ip_throttled: fn(&str) -> String,
    pub too_many_codes: fn(&str) -> String,
    pub locked: fn(&str) -> String,
    pub wrong_code: fn(i64) -> String,
    pub code_expired: &'static str,
    pub code_used: &'static str,
    pub no_code: &'static str,
    pub too_many_tries: &'static str,
    pub no_attachment: &'static str,
    pub social_refused: &'static str,
    pub oauth_not_started: &'static str,
    pub oauth_gone: &'static str,
    pub oauth_cancelled: fn(&str) -> String,
    pub oauth_unverified: fn(&str, &str) -> String,
    pub oauth_no_email: fn(&str) -> String,
    pub oauth_failed: fn(&str) -> String,

    pub sent_title: &'static str,
    pub sent_message_title: &'static str,
    pub sent_empty: &'static str,
    pub write_protected: &'static str,
    pub remove_access: &'static str,
    pub access_removed: &'static str,
    pub state_removed: &'static str,
    pub state_protected: &'static str,
    pub remove_recipient: &'static str,
    pub remove_recipient_for: fn(&str) -> String,
    pub recipient_removed: fn(&str) -> String,
    pub sent_not_found: &'static str,
    pub back_to_sent: &'static str,
    pub message_heading: &'static str,
    pub timeline: &'static str,
    pub inbox_title: &'static str,
    pub inbox_empty: &'static str,
    pub inbox_not_found: &'static str,
    pub back_to_inbox: &'static str,
    pub content_deleted: &'static str,
    pub chart_title: &'static str,
    pub chart_truncated: &'static str,
    pub chart_day: &'static str,
    pub chart_sent: &'static str,
    pub chart_opened: &'static str,
    pub chart_revoked: &'static str,
    pub chart_expired: &'static str,
}

pub static EN: Texts = Texts {
    skip: "Skip to content",
    language: "Language",
    not_found_title: "Page not found",
    not_found_text: "There is no page at this address.",
    not_found_link: "Go to the start page",
    unavailable: "sealpost cannot answer right now. Please try again in a moment.",

    invalid_title: "This link is not valid.",
    invalid_hint: "Check that you opened the whole link from the email.",
    revoked_title: "The message was revoked by the sender.",
    revoked_hint: "Ask the sender if you still need it.",
    expired_title: "This message has expired.",
    expired_hint: "Ask the sender to send it again if you still need it.",
    removed_title: "The sender removed your access to this message.",
    removed_hint: "Ask the sender if you still need it.",
    privacy: "Privacy statement",
    reply_heading: "Reply",
    reply_label: "Your reply",
    reply_attachments: "Attachments",
    reply_hint: |sender, mb| {
        format!(
            "Your reply is protected like this message and goes to {sender}. Attachments up to {mb} MB in all."
        )
    },
    reply_button: "Reply",
    reply_all_button: "Reply all",
    reply_all_hint: |others| format!("Reply all also sends it to {others}."),
    reply_sent: |to| format!("Your reply was sent to {to}."),
    reply_empty: "Write a reply, or attach a file, before sending.",
    reply_too_big: |mb| format!("The reply is too big: the limit is {mb} MB with attachments."),
    reply_attachment_refused: "An attachment cannot be sent: it is nested too deeply.",
    too_many_replies: |n, when| {
        format!(
            "You have sent {n} replies to this message in the last hour. You can reply again {when}."
        )
    },
    your_replies: "Your replies",
    replied_to: |to| format!("to {to}"),
    wrong_person_title: "Signed in as someone else",
    wrong_person: |who, to| format!("You signed in as {who}, but this message was sent to {to}."),
    sign_out_and_in: |to| format!("Sign out and sign in as {to}"),

    landing_title: "Protected message",
    logo_alt: "Sender's organization logo",
    sent_you: |sender| format!("{sender} sent you a protected message"),
    sign_in_with: |provider| format!("Sign in with {provider}"),
    otp_disabled: "This message cannot be opened with a one-time passcode.",
    prove: "To read it, prove that this address is yours.",
    sign_in_otp: "Sign in with a one-time passcode",
    code_sent: |address, reference| {
        format!("We sent a one-time passcode to {address}. Reference code: {reference}.")
    },
    code_label: "One-time passcode",
    code_hint: "8 digits, valid for 10 minutes.",
    remember: "This is a private computer. Keep me signed in.",
    continue_: "Continue",
    new_code: "Send a new code",

    from: "From",
    to: "To",
    date: "Date",
    expires: "Expires",
    do_not_forward: "Do not forward: the sender asked that this message not be forwarded, printed or copied.",
    attachments: "Attachments",
    kilobytes: |size| format!("{} KB", size.div_ceil(1024)),
    sign_out: "Sign out",

    when: |minutes, at| {
        format!(
            "in {minutes} minute{} (at {at} UTC)",
            if minutes == 1 { "" } else { "s" }
        )
    },
    form_expired: "This form has expired. Please try again.",
    form_too_large: "The form is too large.",
    form_incomplete: "The form was incomplete. Please try again.",
    ip_throttled: |when| {
        format!("Too many failed sign-in attempts from your network. Try again {when}.")
    },
    too_many_codes: |when| {
        format!("You asked for three codes in 15 minutes. You can ask for a new one {when}.")
    },
    locked: |when| {
        format!(
            "Too many wrong codes were entered for this message: passcode sign-in is locked. Try again {when}."
        )
    },
    wrong_code: |tries_left| {
        format!(
            "That code is wrong. You have {tries_left} {} left.",
            if tries_left == 1 { "try" } else { "tries" }
        )
    },
    code_expired: "That code has expired: codes are valid for 10 minutes. Ask for a new code below.",
    code_used: "That code was already used: each code works once. Ask for a new code below.",
    no_code: "There is no valid code for this message. Ask for a new code below.",
    too_many_tries: "Too many wrong tries: this code no longer works. Ask for a new code below.",
    no_attachment: "There is no such attachment.",
    social_refused: "This message cannot be opened with that sign-in.",
    oauth_not_started: "This sign-in was not started here, or it was already completed. Open the link from your email again.",
    oauth_gone: "That sign-in is not available any more.",
    oauth_cancelled: |provider| {
        format!("Sign-in with {provider} was cancelled or interrupted. Please try again.")
    },
    oauth_unverified: |provider, email| format!("{provider} has not verified the address {email}."),
    oauth_no_email: |provider| format!("{provider} did not tell us your email address."),
    oauth_failed: |provider| format!("{provider} could not confirm who you are. Please try again."),

    sent_title: "Sent messages",
    sent_message_title: "Sent message",
    sent_empty: "You have not sent protected messages yet.",
    write_protected: "Write a protected message",
    remove_access: "Remove external access",
    access_removed: "External access was removed.",
    state_removed: "External access removed",
    state_protected: "Protected",
    remove_recipient: "Remove access",
    remove_recipient_for: |address| format!("Remove access for {address}"),
    recipient_removed: |address| format!("Access was removed for {address}."),
    sent_not_found: "There is no such message in your Sent folder.",
    back_to_sent: "Back to Sent messages",
    message_heading: "Message",
    timeline: "Timeline",
    inbox_title: "Inbox",
    inbox_empty: "No protected messages for you yet.",
    inbox_not_found: "There is no such message in your Inbox.",
    back_to_inbox: "Back to the Inbox",
    content_deleted: "The content of this message was deleted under the organization's retention policy.",
    chart_title: "Protected messages per day",
    chart_truncated: "the last 92 days of the period",
    chart_day: "Day",
    chart_sent: "Sent",
    chart_opened: "Opened",
    chart_revoked: "Revoked",
    chart_expired: "Expired",
};

pub static JA: Texts = Texts {
    skip: "本文へ移動",
    language: "言語",
    not_found_title: "ページが見つかりません",
    not_found_text: "このアドレスにはページがありません。",
    not_found_link: "最初のページへ",
    unavailable: "sealpost は現在応答できません。しばらくしてからもう一度お試しください。",

    invalid_title: "このリンクは無効です。",
    invalid_hint: "メールのリンクを最後まで開いたか確認してください。",
    revoked_title: "メッセージは送信者によって取り消されました。",
    revoked_hint: "必要な場合は送信者にお問い合わせください。",
    expired_title: "このメッセージは有効期限が切れています。",
    expired_hint: "必要な場合は送信者に再送を依頼してください。",
    removed_title: "送信者によってこのメッセージへのアクセスが削除されました。",
    removed_hint: "必要な場合は送信者にお問い合わせください。",
    privacy: "プライバシーに関する声明",
    reply_heading: "返信",
    reply_label: "返信の本文",
    reply_attachments: "添付ファイル",
    reply_hint: |sender, mb| {
        format!(
            "返信はこのメッセージと同じように保護され、{sender} に送信されます。添付ファイルは合計 {mb} MB までです。"
        )
    },
    reply_button: "返信",
    reply_all_button: "全員に返信",
    reply_all_hint: |others| format!("全員に返信すると {others} にも送信されます。"),
    reply_sent: |to| format!("返信を {to} に送信しました。"),
    reply_empty: "送信する前に返信を書くか、ファイルを添付してください。",
    reply_too_big: |mb| format!("返信が大きすぎます。添付ファイルを含めて {mb} MB までです。"),
    reply_attachment_refused: "添付ファイルを送信できません: 入れ子が深すぎます。",
    too_many_replies: |n, when| {
        format!("この 1 時間にこのメッセージへ {n} 件返信しました。{when}に再び返信できます。")
    },
    your_replies: "あなたの返信",
    replied_to: |to| format!("宛先 {to}"),
    wrong_person_title: "別のユーザーとしてサインインしています",
    wrong_person: |who, to| {
        format!("{who} としてサインインしていますが、このメッセージの宛先は {to} です。")
    },
    sign_out_and_in: |to| format!("サインアウトして {to} としてサインイン"),

    landing_title: "保護されたメッセージ",
    logo_alt: "送信者の組織のロゴ",
    sent_you: |sender| format!("{sender} さんから保護されたメッセージが届きました"),
    sign_in_with: |provider| format!("{provider} でサインイン"),
    otp_disabled: "このメッセージはワンタイム パスコードでは開けません。",
    prove: "メッセージを読むには、このメールアドレスがご自身のものであることを確認してください。",
    sign_in_otp: "ワンタイム パスコードでサインイン",
    code_sent: |address, reference| {
        format!("{address} にワンタイム パスコードを送信しました。参照コード: {reference}")
    },
    code_label: "ワンタイム パスコード",
    code_hint: "8 桁の数字、有効期間は 10 分です。",
    remember: "これは個人のコンピューターです。サインインしたままにする。",
    continue_: "続行",
    new_code: "新しいコードを送信",

    from: "差出人",
    to: "宛先",
    date: "日付",
    expires: "有効期限",
    do_not_forward: "転送不可: 送信者はこのメッセージの転送、印刷、コピーを禁止しています。",
    attachments: "添付ファイル",
    kilobytes: |size| format!("{} KB", size.div_ceil(1024)),
    sign_out: "サインアウト",

    when: |minutes, at| format!("{minutes} 分後 (UTC {at} 以降)"),
    form_expired: "このフォームは有効期限が切れました。もう一度お試しください。",
    form_too_large: "フォームが大きすぎます。",
    form_incomplete: "フォームの内容が不完全です。もう一度お試しください。",
    ip_throttled: |when| {
        format!(
            "お使いのネットワークからのサインイン失敗が多すぎます。{when}にもう一度お試しください。"
        )
    },
    too_many_codes: |when| {
        format!("15 分間に 3 回コードを要求しました。新しいコードは{when}に要求できます。")
    },
    locked: |when| {
        format!(
            "このメッセージに対して誤ったコードが多数入力されたため、パスコードでのサインインはロックされています。{when}にもう一度お試しください。"
        )
    },
    wrong_code: |tries_left| {
        format!("コードが正しくありません。あと {tries_left} 回入力できます。")
    },
    code_expired: "このコードは有効期限が切れています (有効期間は 10 分です)。下のボタンで新しいコードを要求してください。",
    code_used: "このコードは使用済みです (各コードは 1 回だけ使えます)。下のボタンで新しいコードを要求してください。",
    no_code: "このメッセージに有効なコードはありません。下のボタンで新しいコードを要求してください。",
    too_many_tries: "誤った入力が多すぎるため、このコードは使えなくなりました。下のボタンで新しいコードを要求してください。",
    no_attachment: "その添付ファイルはありません。",
    social_refused: "このメッセージはそのサインイン方法では開けません。",
    oauth_not_started: "このサインインはここで開始されていないか、すでに完了しています。メールのリンクをもう一度開いてください。",
    oauth_gone: "そのサインイン方法は現在利用できません。",
    oauth_cancelled: |provider| {
        format!("{provider} でのサインインは取り消されたか中断されました。もう一度お試しください。")
    },
    oauth_unverified: |provider, email| {
        format!("{provider} はアドレス {email} を確認済みとしていません。")
    },
    oauth_no_email: |provider| format!("{provider} からメールアドレスを受け取れませんでした。"),
    oauth_failed: |provider| {
        format!("{provider} で本人確認ができませんでした。もう一度お試しください。")
    },

    sent_title: "送信済みアイテム",
    sent_message_title: "送信済みメッセージ",
    sent_empty: "保護されたメッセージはまだ送信していません。",
    write_protected: "保護されたメッセージを作成",
    remove_access: "外部アクセスの削除",
    access_removed: "外部アクセスは削除されました。",
    state_removed: "外部アクセス削除済み",
    state_protected: "保護済み",
    remove_recipient: "アクセスの削除",
    remove_recipient_for: |address| format!("{address} のアクセスを削除"),
    recipient_removed: |address| format!("{address} のアクセスは削除されました。"),
    sent_not_found: "送信済みアイテムにそのメッセージはありません。",
    back_to_sent: "送信済みアイテムに戻る",
    message_heading: "本文",
    timeline: "履歴",
    inbox_title: "受信トレイ",
    inbox_empty: "保護されたメッセージはまだありません。",
    inbox_not_found: "受信トレイにそのメッセージはありません。",
    back_to_inbox: "受信トレイに戻る",
    content_deleted: "このメッセージの内容は組織の保持ポリシーにより削除されました。",
    chart_title: "1 日あたりの保護されたメッセージ",
    chart_truncated: "期間の最後の 92 日",
    chart_day: "日付",
    chart_sent: "送信済み",
    chart_opened: "開封済み",
    chart_revoked: "取り消し済み",
    chart_expired: "期限切れ",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_preference_with_the_highest_weight_wins() {
        assert_eq!(
            Lang::from_accept_language("ja-JP,ja;q=0.9,en;q=0.8"),
            Some(Lang::Ja)
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, ja;q=0.7"),
            Some(Lang::Ja)
        );
        assert_eq!(Lang::from_accept_language("en-GB,ja;q=0.2"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("ja;q=0"), None);
        assert_eq!(Lang::from_accept_language("de-DE"), None);
    }

    #[test]
    fn the_switch_beats_the_cookie_which_beats_the_browser() {
        assert_eq!(
            Lang::of_request(Some("lang=ja"), Some("lang=en"), Some("en")),
            (Lang::Ja, true)
        );
        assert_eq!(
            Lang::of_request(Some("x=1"), Some("a=b; lang=ja"), Some("en")),
            (Lang::Ja, false)
        );
        assert_eq!(
            Lang::of_request(None, None, Some("ja-JP")),
            (Lang::Ja, false)
        );
        assert_eq!(
            Lang::of_request(Some("lang=xx"), None, None),
            (Lang::En, false)
        );
    }
}
