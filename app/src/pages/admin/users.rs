//! The organization's users, and adding one.

use super::AdminPage;
use crate::dto::{PageContext, UserLine};
use crate::pages::{CsrfField, NoticeBox};
use crate::server_fns::load_admin_users;
use leptos::prelude::*;

/// `/admin/users`.
#[component]
pub fn UsersPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| load_admin_users());
    view! {
        <AdminPage title="Users" data render={move |ctx: PageContext, users: Vec<UserLine>| view! {
            <NoticeBox notice=ctx.notice.clone()/>
            <table id="users">
                <thead><tr>
                    <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"State"</th><th scope="col">"Added"</th>
                </tr></thead>
                <tbody>
                    {users.iter().map(|u| view! {
                        <tr>
                            <td>{u.email.clone()}</td>
                            <td>{u.role.clone()}</td>
                            <td>{if u.disabled { "disabled" } else if u.must_change_password { "must choose a password" } else { "active" }}</td>
                            <td>{u.created_at.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h2>"Add a user"</h2>
            <form method="post" action="/admin/users" class="card">
                <CsrfField token=ctx.csrf_token.clone()/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" required autocomplete="off"/>
                <label for="role">"Role"</label>
                <select id="role" name="role">
                    <option value="sender" selected>"Sender"</option>
                    <option value="admin">"Administrator"</option>
                </select>
                <label for="password">"Temporary password"</label>
                <input id="password" name="password" type="password" required minlength="12" autocomplete="new-password" aria-describedby="password-hint"/>
                <p id="password-hint" class="hint">"At least 12 characters. The user chooses their own at the first sign-in."</p>
                <button type="submit">"Add user"</button>
            </form>
        }.into_any()}/>
    }
}
