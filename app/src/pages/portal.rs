//! The recipient portal at `/r/{token}`: landing, one-time passcode, the
//! message, and the pages that say why a message cannot be read.

use super::{CsrfField, LangSwitch, LoadError, MessageContent, NoticeBox};
use crate::dto::{Branding, CodeSent, EarlierReply, MessageView, Notice, PortalView};
use crate::i18n::Texts;
use crate::server_fns::load_portal;
use crate::use_lang;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::from_u16(code).expect("a valid status"));
        response.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response.insert_header(
            http::header::REFERRER_POLICY,
            http::HeaderValue::from_static("no-referrer"),
        );
    }
}

#[cfg(not(feature = "ssr"))]
fn set_status(_code: u16) {}

#[component]
pub fn PortalPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let view = Resource::new_blocking(token, load_portal);
    let t = use_lang().t();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let token = token();
                match view.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(PortalView::Invalid) => {
                        set_status(404);
                        plain_page(t.invalid_title, t.invalid_hint).into_any()
                    }
                    Ok(PortalView::Revoked { branding }) => {
                        set_status(410);
                        closed_page(t, branding, t.revoked_title, t.revoked_hint).into_any()
                    }
                    Ok(PortalView::Removed { branding }) => {
                        set_status(410);
                        closed_page(t, branding, t.removed_title, t.removed_hint).into_any()
                    }
                    Ok(PortalView::Expired { branding }) => {
                        set_status(410);
                        closed_page(t, branding, t.expired_title, t.expired_hint).into_any()
                    }
                    Ok(PortalView::WrongPerson { signed_in_as, sent_to, csrf_token }) => {
                        set_status(403);
                        let text = (t.wrong_person)(&signed_in_as, &sent_to);
                        view! {
                            <Title text=crate::page_title(t.wrong_person_title)/>
                            <header class="banner plain"><span class="brand">"sealpost"</span><LangSwitch/></header>
                            <main id="main" class="portal">
                                <h1>{text}</h1>
                                <form method="post" action=format!("/r/{token}")>
                                    <CsrfField token=csrf_token/>
                                    <input type="hidden" name="step" value="signout"/>
                                    <button type="submit">{(t.sign_out_and_in)(&sent_to)}</button>
                                </form>
                            </main>
                        }.into_any()
                    }
                    Ok(PortalView::Landing { branding, sender, otp_enabled, providers, csrf_token, notice, code_sent }) => {
                        set_status(200);
                        let ways = Ways { otp_enabled, providers };
                        landing(t, token, branding, sender, ways, csrf_token, notice, code_sent).into_any()
                    }
                    Ok(PortalView::Message { branding, message, csrf_token, notice, replies, max_message_bytes }) => {
                        set_status(200);
                        let answer = Answer { notice, replies, max_message_bytes };
                        message_page(t, token, branding, message, csrf_token, answer).into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn plain_page(title: &'static str, hint: &'static str) -> impl IntoView {
    view! {
        <Title text=crate::page_title(title)/>
        <header class="banner plain"><span class="brand">"sealpost"</span><LangSwitch/></header>
        <main id="main" class="portal">
            <h1>{title}</h1>
            <p>{hint}</p>
        </main>
    }
}

/// Why a message cannot be read, under the message's own branding.
fn closed_page(
    t: &'static Texts,
    branding: Branding,
    title: &'static str,
    hint: &'static str,
) -> impl IntoView {
    let privacy_url = branding.privacy_url.clone();
    view! {
        <Title text=crate::page_title(title)/>
        <Banner t branding/>
        <main id="main" class="portal">
            <h1>{title}</h1>
            <p>{hint}</p>
        </main>
        <PrivacyFooter t url=privacy_url/>
    }
}

/// The template's privacy statement, when it names one.
#[component]
fn PrivacyFooter(t: &'static Texts, url: Option<String>) -> impl IntoView {
    url.map(|url| {
        view! {
            <footer class="portal-footer">
                <a href=url rel="noopener noreferrer">{t.privacy}</a>
            </footer>
        }
    })
}

#[component]
fn Banner(t: &'static Texts, branding: Branding) -> impl IntoView {
    let style = format!(
        "background:{};color:{}",
        branding.background_color, branding.text_color
    );
    view! {
        <header class="banner" style=style>
            {match branding.logo_url {
                Some(url) => view! { <img class="logo" src=url alt=t.logo_alt height="40"/> }.into_any(),
                None => view! { <span class="brand">"sealpost"</span> }.into_any(),
            }}
            {branding.portal_text.map(|text| view! { <p class="portal-text">{text}</p> })}
            <LangSwitch/>
        </header>
    }
}

/// How the recipient may sign in.
struct Ways {
    otp_enabled: bool,
    providers: Vec<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
fn landing(
    t: &'static Texts,
    token: String,
    branding: Branding,
    sender: String,
    ways: Ways,
    csrf_token: String,
    notice: Option<Notice>,
    code_sent: Option<CodeSent>,
) -> impl IntoView {
    let disclaimer = branding.disclaimer_text.clone();
    let privacy_url = branding.privacy_url.clone();
    view! {
        <Title text=crate::page_title(t.landing_title)/>
        <Banner t branding/>
        <main id="main" class="portal">
            <h1>{(t.sent_you)(&sender)}</h1>
            <NoticeBox notice/>
            {(code_sent.is_none() && !ways.providers.is_empty()).then(|| {
                let token = token.clone();
                let csrf = csrf_token.clone();
                view! {
                    <div class="providers">
                        {ways.providers.iter().map(|(id, label)| view! {
                            <form method="post" action=format!("/r/{token}")>
                                <CsrfField token=csrf.clone()/>
                                <input type="hidden" name="step" value=id.clone()/>
                                <button type="submit" class="secondary">{(t.sign_in_with)(label)}</button>
                            </form>
                        }).collect_view()}
                    </div>
                }
            })}
            {match (ways.otp_enabled, code_sent) {
                (false, _) => view! { <p>{t.otp_disabled}</p> }.into_any(),
                (true, None) => view! {
                    <p>{t.prove}</p>
                    <form method="post" action=format!("/r/{token}")>
                        <CsrfField token=csrf_token/>
                        <input type="hidden" name="step" value="passcode"/>
                        <button type="submit">{t.sign_in_otp}</button>
                    </form>
                }.into_any(),
                (true, Some(sent)) => view! {
                    <p id="code-sent">{(t.code_sent)(&sent.address, &sent.reference)}</p>
                    <form method="post" action=format!("/r/{token}") class="card">
                        <CsrfField token=csrf_token.clone()/>
                        <input type="hidden" name="step" value="verify"/>
                        <label for="code">{t.code_label}</label>
                        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                            pattern="[0-9]{8}" maxlength="8" required aria-describedby="code-hint"/>
                        <p id="code-hint" class="hint">{t.code_hint}</p>
                        <label class="choice">
                            <input type="checkbox" name="remember" value="yes"/>
                            " " {t.remember}
                        </label>
                        <button type="submit">{t.continue_}</button>
                    </form>
                    <form method="post" action=format!("/r/{token}")>
                        <CsrfField token=csrf_token/>
                        <input type="hidden" name="step" value="passcode"/>
                        <button type="submit" class="secondary">{t.new_code}</button>
                    </form>
                }.into_any(),
            }}
            {disclaimer.map(|d| view! { <p class="hint">{d}</p> })}
        </main>
        <PrivacyFooter t url=privacy_url/>
    }
}

/// The reply side of the message page: what happened to the last form,
/// and what the recipient answered before.
struct Answer {
    notice: Option<Notice>,
    replies: Vec<EarlierReply>,
    max_message_bytes: u64,
}

fn message_page(
    t: &'static Texts,
    token: String,
    branding: Branding,
    m: MessageView,
    csrf_token: String,
    answer: Answer,
) -> impl IntoView {
    let disclaimer = branding.disclaimer_text.clone();
    let subject = m.subject.clone();
    let privacy_url = branding.privacy_url.clone();
    let sender = m.sender.clone();
    let others = m.others.join(", ");
    let limit_mb = answer.max_message_bytes / (1024 * 1024);
    view! {
        <Title text=crate::page_title(&subject)/>
        <Banner t branding/>
        <main id="main" class="portal">
            <NoticeBox notice=answer.notice/>
            <MessageContent t message=m attachments=format!("/r/{token}/attachments")/>
            {disclaimer.map(|d| view! { <p class="hint">{d}</p> })}
            {(!answer.replies.is_empty()).then(|| view! {
                <section aria-labelledby="your-replies">
                    <h2 id="your-replies">{t.your_replies}</h2>
                    <ol id="replies" class="timeline">
                        {answer.replies.into_iter().map(|r| view! {
                            <li>
                                <p class="hint"><time>{r.at}</time>" · "{(t.replied_to)(&r.to)}</p>
                                <div class="body text">{r.body_text}</div>
                                {(!r.attachments.is_empty()).then(|| view! {
                                    <ul>{r.attachments.into_iter().map(|name| view! { <li>{name}</li> }).collect_view()}</ul>
                                })}
                            </li>
                        }).collect_view()}
                    </ol>
                </section>
            })}
            <section aria-labelledby="reply-heading">
                <h2 id="reply-heading">{t.reply_heading}</h2>
                <form method="post" action=format!("/r/{token}/reply") enctype="multipart/form-data" class="card">
                    <CsrfField token=csrf_token.clone()/>
                    <label for="reply-body">{t.reply_label}</label>
                    <textarea id="reply-body" name="body" rows="6" aria-describedby="reply-hint"></textarea>
                    <p id="reply-hint" class="hint">{(t.reply_hint)(&sender, limit_mb)}</p>
                    <label for="reply-attachments">{t.reply_attachments}</label>
                    <input id="reply-attachments" name="attachments" type="file" multiple/>
                    <button type="submit" name="all" value="no">{t.reply_button}</button>
                    {(!others.is_empty()).then(|| view! {
                        " "
                        <button type="submit" name="all" value="yes" class="secondary" aria-describedby="reply-all-hint">
                            {t.reply_all_button}
                        </button>
                        <p id="reply-all-hint" class="hint">{(t.reply_all_hint)(&others)}</p>
                    })}
                </form>
            </section>
            <form method="post" action=format!("/r/{token}")>
                <CsrfField token=csrf_token/>
                <input type="hidden" name="step" value="signout"/>
                <button type="submit" class="secondary">{t.sign_out}</button>
            </form>
        </main>
        <PrivacyFooter t url=privacy_url/>
    }
}
