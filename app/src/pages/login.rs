use super::{CsrfField, Frame, LoadError, NoticeBox, use_page_context};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Sign-in for organization users. The form posts to `/login` without
/// JavaScript; after hydration the "Show password" button works too.
#[component]
pub fn LoginPage() -> impl IntoView {
    let context = use_page_context();
    view! {
        <Frame title="Sign in">
            <Suspense>
                {move || Suspend::new(async move {
                    match context.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(ctx) if ctx.viewer.is_some() => view! { <Redirect path="/"/> }.into_any(),
                        Ok(ctx) => {
                            let email = ctx.notice.as_ref().and_then(|n| n.email.clone()).unwrap_or_default();
                            view! {
                                <NoticeBox notice=ctx.notice.clone()/>
                                <form method="post" action="/login" class="card">
                                    <CsrfField token=ctx.csrf_token.clone()/>
                                    <label for="email">"Email"</label>
                                    <input id="email" name="email" type="email" autocomplete="username"
                                        required value=email/>
                                    <label for="password">"Password"</label>
                                    <PasswordRow/>
                                    <button type="submit">"Sign in"</button>
                                </form>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </Frame>
    }
}

/// The password field and its "Show password" button (an island). The
/// button does nothing before the island hydrates, so it is hidden until
/// then (and without JavaScript); `aria-pressed` says whether the password
/// shows, the label stays.
#[island]
fn PasswordRow() -> impl IntoView {
    let (show_password, set_show_password) = signal(false);
    let (working, set_working) = signal(false);
    Effect::new(move |_| set_working.set(true));
    view! {
        <div class="password-row">
            <input id="password" name="password" autocomplete="current-password" required
                type=move || if show_password.get() { "text" } else { "password" }/>
            <button type="button" class="secondary" id="toggle-password"
                hidden=move || !working.get()
                aria-controls="password"
                aria-pressed=move || show_password.get().to_string()
                on:click=move |_| set_show_password.update(|s| *s = !*s)>
                "Show password"
            </button>
        </div>
    }
}
