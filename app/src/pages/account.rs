use super::{CsrfField, Frame, LoadError, NoticeBox, use_page_context};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Change the signed-in user's password; required after the first sign-in
/// with a one-time password.
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let context = use_page_context();
    view! {
        <Frame title="Change password">
            <Suspense>
                {move || Suspend::new(async move {
                    match context.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(ctx) => match ctx.viewer.clone() {
                            None => view! { <Redirect path="/login"/> }.into_any(),
                            Some(viewer) => view! {
                                {viewer.must_change_password.then(|| view! {
                                    <p class="notice">"You signed in with a one-time password. Choose your own password to continue."</p>
                                })}
                                <NoticeBox notice=ctx.notice.clone()/>
                                <form method="post" action="/account/password" class="card">
                                    <CsrfField token=ctx.csrf_token.clone()/>
                                    <input type="text" name="username" autocomplete="username" value=viewer.email.clone() hidden/>
                                    <label for="current">"Current password"</label>
                                    <input id="current" name="current" type="password" autocomplete="current-password" required/>
                                    <label for="new">"New password"</label>
                                    <input id="new" name="new" type="password" autocomplete="new-password" required
                                        minlength="12" aria-describedby="new-hint"/>
                                    <p id="new-hint" class="hint">"At least 12 characters."</p>
                                    <label for="confirm">"New password again"</label>
                                    <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12"/>
                                    <button type="submit">"Change password"</button>
                                </form>
                            }.into_any(),
                        },
                    }
                })}
            </Suspense>
        </Frame>
    }
}
