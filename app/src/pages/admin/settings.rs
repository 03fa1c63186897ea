//! `/admin/settings`: transport decryption and another organization's
//! protected mail (the same settings as `sealpost irm-config`).

use super::AdminPage;
use crate::dto::{PageContext, ProtectionSettings};
use crate::pages::{CsrfField, NoticeBox};
use crate::server_fns::load_admin_settings;
use leptos::prelude::*;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| load_admin_settings());
    view! {
        <AdminPage title="Protection settings" data render={move |ctx: PageContext, s: ProtectionSettings| view! {
            <NoticeBox notice=ctx.notice.clone()/>
            <form method="post" action="/admin/settings" class="card">
                <CsrfField token=ctx.csrf_token.clone()/>
                <label for="transport_decryption">"Transport decryption"</label>
                <select id="transport_decryption" name="transport_decryption" aria-describedby="td-hint">
                    {[("disabled", "Disabled"), ("optional", "Optional"), ("mandatory", "Mandatory")].into_iter().map(|(v, label)| view! {
                        <option value=v selected=s.transport_decryption == v>{label}</option>
                    }).collect_view()}
                </select>
                <p id="td-hint" class="hint">"Optional and Mandatory decrypt this organization's protected mail in transit so rules and agents can inspect it; every agent sees the plaintext, and it is re-encrypted before it leaves. Mandatory refuses mail that cannot be decrypted."</p>
                <label for="foreign_protected">"Another organization's protected mail"</label>
                <select id="foreign_protected" name="foreign_protected">
                    {[("pass", "Pass it on untouched"), ("reject", "Reject it")].into_iter().map(|(v, label)| view! {
                        <option value=v selected=s.foreign_protected == v>{label}</option>
                    }).collect_view()}
                </select>
                <button type="submit">"Save"</button>
            </form>
        }.into_any()}/>
    }
}
