//! Transport rules: the list in the order they run (move, enable, disable)
//! and the form for a new or changed rule. Every control is a form that
//! posts to the server, so the pages work without JavaScript.

use super::AdminPage;
use super::messages::encode;
use crate::dto::{PageContext, RuleEdit, RuleForm, RuleList};
use crate::pages::{CsrfField, NoticeBox};
use crate::server_fns::{load_admin_rule, load_admin_rules};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/admin/rules`.
#[component]
pub fn RulesPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| load_admin_rules());
    view! {
        <AdminPage title="Transport rules" data render={move |ctx: PageContext, list: RuleList| {
            let count = list.rules.len();
            view! {
                <NoticeBox notice=ctx.notice.clone()/>
                <p class="hint">"Every message is checked against the enabled rules in this order; protected mail is checked after transport decryption. A rule's actions apply when all of its conditions match."</p>
                <p><a href="/admin/rules/new" class="button">"New rule"</a></p>
                {if count == 0 {
                    view! { <p id="no-rules">"There are no transport rules yet."</p> }.into_any()
                } else {
                    view! {
                        <table id="rules">
                            <caption class="visually-hidden">"Transport rules, in the order they run"</caption>
                            <thead><tr>
                                <th scope="col">"Priority"</th><th scope="col">"Name"</th><th scope="col">"State"</th><th scope="col">"What it does"</th><th scope="col">"Change"</th>
                            </tr></thead>
                            <tbody>
                                {list.rules.iter().map(|r| {
                                    let csrf = ctx.csrf_token.clone();
                                    let edit = format!("/admin/rules/edit?name={}", encode(&r.name));
                                    let first = r.priority == 0;
                                    let last = r.priority as usize + 1 >= count;
                                    let button = move |action: &'static str, label: &'static str, name: String| view! {
                                        <button type="submit" name="do" value=action class="small">
                                            {label}<span class="visually-hidden">{format!(" {name}")}</span>
                                        </button>
                                    };
                                    view! {
                                        <tr>
                                            <td>{r.priority}</td>
                                            <td><a href=edit>{r.name.clone()}</a></td>
                                            <td>{if r.enabled { "Enabled" } else { "Disabled" }}</td>
                                            <td>{r.description.clone()}</td>
                                            <td>
                                                <form method="post" action="/admin/rules/change" class="row-actions">
                                                    <CsrfField token=csrf/>
                                                    <input type="hidden" name="name" value=r.name.clone()/>
                                                    {(!first).then(|| button("up", "Move up", r.name.clone()))}
                                                    {(!last).then(|| button("down", "Move down", r.name.clone()))}
                                                    {if r.enabled {
                                                        button("disable", "Disable", r.name.clone())
                                                    } else {
                                                        button("enable", "Enable", r.name.clone())
                                                    }}
                                                </form>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            }.into_any()
        }}/>
    }
}

/// `/admin/rules/new` and `/admin/rules/edit?name=…`.
#[component]
pub fn RuleEditPage() -> impl IntoView {
    let query = use_query_map();
    let name = move || query.read().get("name").unwrap_or_default();
    let data = Resource::new_blocking(name, load_admin_rule);
    view! {
        <AdminPage title="Transport rule" data render={move |ctx: PageContext, edit: Option<RuleEdit>| {
            match edit {
                None => {
                    super::set_status(404);
                    view! {
                        <p>"There is no rule named " {name()} "."</p>
                        <p><a href="/admin/rules">"Back to the rules"</a></p>
                    }.into_any()
                }
                Some(edit) => rule_form(ctx, edit).into_any(),
            }
        }}/>
    }
}

#[component]
fn Field(
    id: &'static str,
    label: &'static str,
    value: String,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] required: bool,
    #[prop(optional)] max: Option<usize>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let described = hint.map(|_| hint_id.clone());
    view! {
        <label for=id>{label}</label>
        {if multiline {
            view! { <textarea id=id name=id rows="3" aria-describedby=described.clone()>{value}</textarea> }.into_any()
        } else {
            view! { <input id=id name=id type="text" value=value required=required maxlength=max aria-describedby=described.clone()/> }.into_any()
        }}
        {hint.map(|h| view! { <p id=hint_id class="hint">{h}</p> })}
    }
}

fn rule_form(ctx: PageContext, edit: RuleEdit) -> impl IntoView {
    let f: RuleForm = edit.form;
    let is_new = f.original_name.is_empty();
    let choice = |options: &[(&'static str, &'static str)], chosen: &str| {
        options
            .iter()
            .map(|(value, label)| {
                view! { <option value=*value selected=chosen == *value>{*label}</option> }
            })
            .collect_view()
    };
    let scope = choice(
        &[
            ("", "Any recipient"),
            ("external", "A recipient outside the organization"),
            ("internal", "A recipient inside the organization"),
        ],
        &f.sent_to_scope,
    );
    let rights = choice(
        &[
            ("", "No protection"),
            ("encrypt-only", "Encrypt only"),
            ("do-not-forward", "Do not forward"),
        ],
        &f.apply_protection,
    );
    let signed = choice(
        &[
            ("wrap", "Wrap it whole, with the disclaimer beside it"),
            ("skip", "Leave it without the disclaimer"),
            ("reject", "Reject it"),
        ],
        if f.signed.is_empty() {
            "wrap"
        } else {
            &f.signed
        },
    );
    let templates = std::iter::once((String::new(), "The default template".to_string()))
        .chain(edit.templates.iter().map(|t| (t.clone(), t.clone())))
        .map(|(value, label)| {
            let selected = f.template == value;
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    let heading = if is_new {
        "New rule".to_string()
    } else {
        format!("Rule: {}", f.original_name)
    };
    view! {
        <NoticeBox notice=ctx.notice.clone()/>
        <p><a href="/admin/rules">"Back to the rules"</a></p>
        <h2>{heading}</h2>
        <form method="post" action="/admin/rules/save" class="card" id="rule-form">
            <CsrfField token=ctx.csrf_token.clone()/>
            <input type="hidden" name="original_name" value=f.original_name.clone()/>
            <Field id="name" label="Name" value=f.name.clone() required=true max=64/>
            <label for="priority">"Priority"</label>
            <input id="priority" name="priority" type="number" min="0" step="1" inputmode="numeric" value=f.priority.clone() aria-describedby="priority-hint"/>
            <p id="priority-hint" class="hint">"0 runs first. Empty: last for a new rule, unchanged otherwise."</p>
            <fieldset>
                <legend>"Conditions: all that are filled in must match (none: every message)"</legend>
                <Field id="from" label="The sender is" value=f.from.clone() multiline=true hint="Addresses or domains, one per line; a domain includes its subdomains."/>
                <Field id="sent_to" label="A recipient is" value=f.sent_to.clone() multiline=true hint="Addresses or domains, one per line."/>
                <label for="sent_to_scope">"Recipient scope"</label>
                <select id="sent_to_scope" name="sent_to_scope">{scope}</select>
                <Field id="subject_or_body_contains" label="The subject or body contains" value=f.subject_or_body_contains.clone() multiline=true hint="Words, one per line; any of them, in any case."/>
                <Field id="subject_or_body_matches" label="The subject or body matches" value=f.subject_or_body_matches.clone() hint="A regular expression, without regard to case, e.g. order\\s+#\\d{4}."/>
                <Field id="attachment_name_matches" label="An attachment's name matches" value=f.attachment_name_matches.clone() hint="* for any run of characters, ? for one, e.g. *.exe."/>
                <Field id="attachment_type" label="An attachment's type is" value=f.attachment_type.clone() hint="A MIME type, e.g. application/pdf or image/*."/>
                <Field id="size_over" label="The message is larger than" value=f.size_over.clone() hint="Bytes, or with KB, MB, GB, e.g. 10MB (the decrypted size)."/>
                <Field id="contains_sensitive" label="The message contains sensitive information" value=f.contains_sensitive.clone() multiline=true hint="One kind per line: us-ssn, credit-card or my-number, with :N for at least N distinct numbers (e.g. credit-card:2). Looks in the subject, the bodies and text attachments; PDF and Office files are not read."/>
            </fieldset>
            <fieldset>
                <legend>"Actions: at least one"</legend>
                <Field id="prepend_subject" label="Put in front of the subject" value=f.prepend_subject.clone() max=100 hint="Include a trailing space if you want one, e.g. \"[External] \"."/>
                <label for="apply_protection">"Apply protection"</label>
                <select id="apply_protection" name="apply_protection" aria-describedby="protection-hint">{rights}</select>
                <p id="protection-hint" class="hint">"Mail that is already protected keeps its template and expiry; a rule only raises encrypt-only to do-not-forward."</p>
                <label for="template">"Branding template of the protection"</label>
                <select id="template" name="template">{templates}</select>
                <Field id="disclaimer_text" label="Append this disclaimer" value=f.disclaimer_text.clone() multiline=true hint="Added to the message's body in its own charset, once."/>
                <Field id="disclaimer_html" label="The disclaimer's HTML version" value=f.disclaimer_html.clone() multiline=true hint="For HTML bodies; empty: the text above. Scripts and styles are removed."/>
                <label for="signed">"If the message is signed"</label>
                <select id="signed" name="signed" aria-describedby="signed-hint">{signed}</select>
                <p id="signed-hint" class="hint">"A disclaimer inside a signed message would break its signature."</p>
                <Field id="reject" label="Reject the message with this text" value=f.reject.clone() max=500 hint="Nobody gets the message; the sender's non-delivery report says this text."/>
            </fieldset>
            <label class="choice"><input name="stop" type="checkbox" value="yes" checked=f.stop/>" Stop processing more rules when this one matches"</label>
            <label class="choice"><input name="enabled" type="checkbox" value="yes" checked=f.enabled/>" Enabled"</label>
            <button type="submit">{if is_new { "Create rule" } else { "Save rule" }}</button>
        </form>
        {(!is_new).then(|| view! {
            <h2>"Remove this rule"</h2>
            <form method="post" action="/admin/rules/change" class="card" id="remove-rule">
                <CsrfField token=ctx.csrf_token.clone()/>
                <input type="hidden" name="name" value=f.original_name.clone()/>
                <label class="choice"><input name="confirm" type="checkbox" value="yes" required/>" Yes, remove the rule " {f.original_name.clone()}</label>
                <button type="submit" name="do" value="remove" class="danger">"Remove rule"</button>
            </form>
        })}
    }
}
