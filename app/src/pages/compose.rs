use super::{CsrfField, Frame, LoadError, NoticeBox, use_page_context};
use crate::dto::{ComposeDraft, ComposeOptions, PageContext};
use crate::server_fns::load_compose_options;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Write a protected message. The form posts to `/compose` (multipart, so
/// attachments work without JavaScript) and goes through the same pipeline
/// as mail from the SMTP intake.
#[component]
pub fn ComposePage() -> impl IntoView {
    let context = use_page_context();
    let query = leptos_router::hooks::use_query_map();
    let reply = move || query.read().get("reply").unwrap_or_default();
    let options = Resource::new_blocking(reply, load_compose_options);
    view! {
        <Frame title="New protected message">
            <Suspense>
                {move || Suspend::new(async move {
                    // Who is asking decides first: the options answer only a
                    // signed-in user.
                    match context.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(ctx) => match ctx.viewer.clone() {
                            None => view! { <Redirect path="/login"/> }.into_any(),
                            Some(viewer) if viewer.must_change_password => {
                                view! { <Redirect path="/account/password"/> }.into_any()
                            }
                            Some(viewer) => match options.await {
                                Err(error) => view! { <LoadError error/> }.into_any(),
                                Ok(options) => compose_form(ctx, options, viewer.email).into_any(),
                            },
                        },
                    }
                })}
            </Suspense>
        </Frame>
    }
}

fn compose_form(ctx: PageContext, options: ComposeOptions, sender: String) -> impl IntoView {
    let draft = ctx
        .draft
        .clone()
        .or_else(|| options.reply.clone())
        .unwrap_or_default();
    let ComposeDraft {
        to,
        cc,
        subject,
        body,
        rights,
        template,
        expiry_days,
        in_reply_to,
    } = draft;
    let template = if template.is_empty() {
        options.default_template.clone()
    } else {
        template
    };
    let do_not_forward = rights == "do-not-forward";
    let limit_mb = options.max_message_bytes / (1024 * 1024);
    view! {
        <NoticeBox notice=ctx.notice.clone()/>
        <form method="post" action="/compose" enctype="multipart/form-data" class="card">
            <CsrfField token=ctx.csrf_token.clone()/>
            {(!in_reply_to.is_empty()).then(|| view! {
                <input type="hidden" name="in_reply_to" value=in_reply_to.clone()/>
            })}
            <p class="hint">"From " <strong>{sender}</strong></p>
            <label for="to">"To"</label>
            <input id="to" name="to" type="text" required value=to aria-describedby="to-hint" autocomplete="off"/>
            <p id="to-hint" class="hint">"One or more addresses, separated by commas."</p>
            <label for="cc">"Cc"</label>
            <input id="cc" name="cc" type="text" value=cc autocomplete="off"/>
            <label for="subject">"Subject"</label>
            <input id="subject" name="subject" type="text" required maxlength="998" value=subject/>
            <label for="body">"Message"</label>
            <textarea id="body" name="body" rows="10">{body}</textarea>
            <label for="attachments">"Attachments"</label>
            <input id="attachments" name="attachments" type="file" multiple aria-describedby="attachments-hint"/>
            <p id="attachments-hint" class="hint">{format!("Up to {limit_mb} MB in all.")}</p>
            <fieldset>
                <legend>"Protection"</legend>
                <label class="choice">
                    <input type="radio" name="rights" value="encrypt-only" checked=!do_not_forward/>
                    " Encrypt only"
                </label>
                <label class="choice">
                    <input type="radio" name="rights" value="do-not-forward" checked=do_not_forward/>
                    " Do not forward"
                </label>
            </fieldset>
            <label for="template">"Branding template"</label>
            <select id="template" name="template">
                {options
                    .templates
                    .into_iter()
                    .map(|name| {
                        let selected = name == template;
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    })
                    .collect_view()}
            </select>
            <label for="expiry_days">"Expires after (days)"</label>
            <input id="expiry_days" name="expiry_days" type="number" min="1" max="730" step="1"
                value=expiry_days aria-describedby="expiry-hint"/>
            <p id="expiry-hint" class="hint">
                "1 to 730 days, at most the template's own expiry when it sets one. Leave empty for the template's."
            </p>
            <button type="submit">"Send protected message"</button>
        </form>
        <p><a href="/">"Back to the start page"</a></p>
    }
}
