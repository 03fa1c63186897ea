use super::{CsrfField, Frame, LoadError, NoticeBox, use_page_context};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// The start page of a signed-in organization user.
#[component]
pub fn HomePage() -> impl IntoView {
    let context = use_page_context();
    view! {
        <Frame title="sealpost">
            <Suspense>
                {move || Suspend::new(async move {
                    match context.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(ctx) => match ctx.viewer.clone() {
                            None => view! { <Redirect path="/login"/> }.into_any(),
                            Some(viewer) if viewer.must_change_password => {
                                view! { <Redirect path="/account/password"/> }.into_any()
                            }
                            Some(viewer) => view! {
                                <NoticeBox notice=ctx.notice.clone()/>
                                <p id="signed-in-as">"Signed in as " <strong>{viewer.email.clone()}</strong>
                                    {format!(" ({})", viewer.role.as_str())}</p>
                                <p><a class="button" href="/compose">"Write a protected message"</a>" "<a href="/sent">"Sent messages"</a></p>
                                <nav aria-label="Account">
                                    <a href="/account/password">"Change password"</a>
                                    <form method="post" action="/logout" class="inline">
                                        <CsrfField token=ctx.csrf_token.clone()/>
                                        <button type="submit" class="secondary">"Sign out"</button>
                                    </form>
                                </nav>
                                <details>
                                    <summary id="toggle-details">"About this deployment"</summary>
                                    <div id="details"><p>"sealpost version " {ctx.version.clone()}</p></div>
                                </details>
                            }.into_any(),
                        },
                    }
                })}
            </Suspense>
        </Frame>
    }
}
