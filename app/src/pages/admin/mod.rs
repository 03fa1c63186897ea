//! The administrator's pages: encryption report, message trace and detail,
//! the queue, branding templates, transport rules, users, the audit trail. Forms post to the server (CSRF-protected) and
//! work without JavaScript.

mod audit;
mod messages;
mod queue;
mod rules;
mod settings;
mod templates;
mod users;

pub use audit::AuditPage;
pub use messages::{AdminMessagePage, ReportPage, TracePage};
pub use queue::QueuePage;
pub use rules::{RuleEditPage, RulesPage};
pub use settings::SettingsPage;
pub use templates::{TemplateEditPage, TemplatesPage};
pub use users::UsersPage;

use super::{Frame, LoadError, use_page_context};
use crate::dto::{PageContext, Role};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// The admin section's navigation.
#[component]
fn AdminNav() -> impl IntoView {
    view! {
        <nav aria-label="Administration" class="admin-nav">
            <ul>
                <li><a href="/admin/report">"Encryption report"</a></li>
                <li><a href="/admin/trace">"Message trace"</a></li>
                <li><a href="/admin/queue">"Queue"</a></li>
                <li><a href="/admin/templates">"Branding templates"</a></li>
                <li><a href="/admin/rules">"Transport rules"</a></li>
                <li><a href="/admin/users">"Users"</a></li>
                <li><a href="/admin/settings">"Protection settings"</a></li>
                <li><a href="/admin/audit">"Audit trail"</a></li>
                <li><a href="/">"Start page"</a></li>
            </ul>
        </nav>
    }
}

#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::from_u16(code).expect("a valid status"));
    }
}

#[cfg(not(feature = "ssr"))]
fn set_status(_code: u16) {}

/// Only a signed-in administrator gets past: others are sent to sign in, or
/// told (403) that the page is not for them.
fn admin_only(ctx: &PageContext) -> Result<(), AnyView> {
    match &ctx.viewer {
        None => Err(view! { <Redirect path="/login"/> }.into_any()),
        Some(v) if v.must_change_password => {
            Err(view! { <Redirect path="/account/password"/> }.into_any())
        }
        Some(v) if v.role != Role::Admin => {
            set_status(403);
            Err(view! {
                <p class="notice error" role="alert">"This page is for administrators."</p>
                <p><a href="/">"Go to the start page"</a></p>
            }
            .into_any())
        }
        Some(_) => Ok(()),
    }
}

/// An admin page: the frame, the gate, and the page's own view once its
/// data has loaded.
#[component]
fn AdminPage<T, F>(
    title: &'static str,
    data: Resource<Result<T, ServerFnError>>,
    render: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(PageContext, T) -> AnyView + Clone + Send + Sync + 'static,
{
    let context = use_page_context();
    view! {
        <Frame title>
            <AdminNav/>
            <Suspense>
                {move || {
                    let render = render.clone();
                    Suspend::new(async move {
                        match (context.await, data.await) {
                            (Err(error), _) => view! { <LoadError error/> }.into_any(),
                            (Ok(ctx), data) => match (admin_only(&ctx), data) {
                                (Err(refused), _) => refused,
                                (Ok(()), Err(error)) => view! { <LoadError error/> }.into_any(),
                                (Ok(()), Ok(data)) => render(ctx, data),
                            },
                        }
                    })
                }}
            </Suspense>
        </Frame>
    }
}
