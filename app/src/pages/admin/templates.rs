//! Branding templates: the list, a new template, and the edit form with a
//! live preview of the notification email and the portal page.

use super::AdminPage;
use super::messages::encode;
use crate::dto::{PageContext, TemplateFields, readable_text_on};
use crate::pages::{CsrfField, NoticeBox};
use crate::server_fns::load_admin_templates;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/admin/templates`.
#[component]
pub fn TemplatesPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| load_admin_templates());
    view! {
        <AdminPage title="Branding templates" data render={move |ctx: PageContext, list: Vec<TemplateFields>| view! {
            <NoticeBox notice=ctx.notice.clone()/>
            <ul id="templates" class="templates">
                {list.iter().map(|t| {
                    let swatch = format!("background:{}", if t.background_color.is_empty() { "#1f4e79" } else { &t.background_color });
                    view! {
                        <li>
                            <span class="swatch" style=swatch aria-hidden="true"></span>
                            <a href=format!("/admin/templates/{}", encode(&t.name))>{t.name.clone()}</a>
                            {t.is_default.then_some(" (default)")}
                            {format!(" · expiry: {}", if t.expiry_days == 0 { "never".to_string() } else { format!("{} days", t.expiry_days) })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h2>"New template"</h2>
            <form method="post" action="/admin/templates" class="card">
                <CsrfField token=ctx.csrf_token.clone()/>
                <label for="new-name">"Name"</label>
                <input id="new-name" name="name" type="text" required maxlength="64"/>
                <button type="submit">"Create"</button>
            </form>
        }.into_any()}/>
    }
}

/// `/admin/templates/:name`.
#[component]
pub fn TemplateEditPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let data = Resource::new_blocking(|| (), |_| load_admin_templates());
    view! {
        <AdminPage title="Branding template" data render={move |ctx: PageContext, list: Vec<TemplateFields>| {
            let wanted = name();
            match list.into_iter().find(|t| t.name == wanted) {
                None => {
                    super::set_status(404);
                    view! { <p>"There is no template named " {wanted} "."</p> }.into_any()
                }
                Some(t) => edit_form(ctx, t).into_any(),
            }
        }}/>
    }
}

#[component]
fn TextField(
    id: &'static str,
    label: &'static str,
    value: String,
    #[prop(optional)] max: Option<usize>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] on_change: Option<WriteSignal<String>>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let described = hint.map(|_| hint_id.clone());
    let input = move |ev: leptos::ev::Event| {
        if let Some(set) = on_change {
            set.set(event_target_value(&ev));
        }
    };
    view! {
        <label for=id>{label}</label>
        {if multiline {
            view! { <textarea id=id name=id rows="3" maxlength=max.map(|m| m.to_string()) aria-describedby=described.clone() on:input=input>{value}</textarea> }.into_any()
        } else {
            view! { <input id=id name=id type="text" value=value maxlength=max.map(|m| m.to_string()) aria-describedby=described.clone() on:input=input/> }.into_any()
        }}
        {hint.map(|h| view! { <p id=hint_id class="hint">{h}</p> })}
    }
}

fn edit_form(ctx: PageContext, t: TemplateFields) -> impl IntoView {
    let action = format!("/admin/templates/{}", encode(&t.name));
    let is_default = t.is_default;
    view! {
        <NoticeBox notice=ctx.notice.clone()/>
        <TemplateEditor csrf=ctx.csrf_token.clone() t/>
        {(!is_default).then(|| view! {
            <form method="post" action=format!("{action}/remove")>
                <CsrfField token=ctx.csrf_token.clone()/>
                <button type="submit" class="secondary">"Remove this template"</button>
            </form>
        })}
    }
}

/// The form and its live preview (an island: the preview follows the
/// fields as they are typed once it hydrated; the form posts without it).
#[island]
fn TemplateEditor(csrf: String, t: TemplateFields) -> impl IntoView {
    let color = RwSignal::new(if t.background_color.is_empty() {
        "#1f4e79".to_string()
    } else {
        t.background_color.clone()
    });
    let (intro, set_intro) = signal(t.introduction_text.clone());
    let (button, set_button) = signal(t.read_button_text.clone());
    let (email_text, set_email_text) = signal(t.email_text.clone());
    let (disclaimer, set_disclaimer) = signal(t.disclaimer_text.clone());
    let (portal_text, set_portal_text) = signal(t.portal_text.clone());
    let banner = move || {
        let c = color.get();
        format!("background:{c};color:{}", readable_text_on(&c))
    };
    let action = format!("/admin/templates/{}", encode(&t.name));
    let logo = t.logo_url.clone();
    view! {
        <div class="template-editor">
            <form method="post" action=action.clone() enctype="multipart/form-data" class="card" id="template-form">
                <CsrfField token=csrf/>
                <TextField id="name" label="Name" value=t.name.clone() max=64/>
                <label for="background_color">"Background color"</label>
                // `value` for the server's HTML (a form saved before, or
                // without, hydration keeps the color), `prop:` as it changes.
                <input id="background_color" name="background_color" type="color" value=color.get_untracked() prop:value=move || color.get()
                    on:input=move |ev| color.set(event_target_value(&ev))/>
                <label for="logo">"Logo (PNG or JPEG, at most 256 KB)"</label>
                <input id="logo" name="logo" type="file" accept="image/png,image/jpeg"/>
                {logo.clone().map(|_| view! {
                    <label class="choice"><input type="checkbox" name="remove_logo" value="yes"/>" Remove the current logo"</label>
                })}
                <TextField id="introduction_text" label="Introduction text" value=t.introduction_text.clone() max=2000 multiline=true on_change=set_intro/>
                <TextField id="read_button_text" label="Read button text" value=t.read_button_text.clone() max=64 hint="Empty: \"Read the message\"." on_change=set_button/>
                <TextField id="email_text" label="Email text" value=t.email_text.clone() max=2000 multiline=true on_change=set_email_text/>
                <TextField id="disclaimer_text" label="Disclaimer text" value=t.disclaimer_text.clone() max=2000 multiline=true on_change=set_disclaimer/>
                <TextField id="portal_text" label="Portal text" value=t.portal_text.clone() max=128 on_change=set_portal_text/>
                <TextField id="privacy_statement_url" label="Privacy statement URL" value=t.privacy_statement_url.clone()/>
                <label class="choice"><input type="checkbox" name="otp_enabled" value="yes" checked=t.otp_enabled/>" Recipients may sign in with a one-time passcode"</label>
                <label class="choice"><input type="checkbox" name="social_enabled" value="yes" checked=t.social_enabled/>" Recipients may sign in with Google or Yahoo"</label>
                <label for="expiry_days">"Expiry in days (0 = never)"</label>
                <input id="expiry_days" name="expiry_days" type="number" min="0" max="730" value=t.expiry_days.to_string()/>
                <button type="submit">"Save"</button>
            </form>
            <section class="preview" aria-labelledby="preview-heading">
                <h2 id="preview-heading">"Preview"</h2>
                <h3>"Notification email"</h3>
                <div class="preview-mail" id="preview-mail">
                    <div class="preview-banner" style=banner>
                        {match logo.clone() {
                            Some(url) => view! { <img src=url alt="Logo" height="32"/> }.into_any(),
                            None => view! { <strong>"sealpost"</strong> }.into_any(),
                        }}
                    </div>
                    <p>"alice@example.com has sent you a protected message. " {move || intro.get()}</p>
                    <p><span class="preview-button" style=banner>{move || {
                        let b = button.get();
                        if b.is_empty() { "Read the message".to_string() } else { b }
                    }}</span></p>
                    <p>{move || email_text.get()}</p>
                    <p class="hint">{move || disclaimer.get()}</p>
                </div>
                <h3>"Portal page"</h3>
                <div class="preview-portal" id="preview-portal">
                    <div class="preview-banner" style=banner>
                        <strong>"sealpost"</strong>" "{move || portal_text.get()}
                    </div>
                    <p><strong>"alice@example.com sent you a protected message"</strong></p>
                    <p class="hint">{move || disclaimer.get()}</p>
                </div>
            </section>
        </div>
    }
}
