//! `GET /r/{token}`: the recipient portal's page.
//!
//! The message page of a signed-in reader is the same HTML for every
//! reader of that copy in one language but for its forms' CSRF token.
//! Rendering it with Leptos (a reactive owner, a resource and a suspense
//! boundary, the 50 KB body grown into a buffer) cost a third of each
//! view. So the page is rendered once and kept, split where the token
//! goes; a later view is served from it with its own token put in.
//! Every view still makes every check against the database first (link,
//! revocation, removal, expiry, session: [`PageService::portal`]), and a
//! kept page is served only for a view equal to the one it was made from,
//! so a revocation, a reply, a removed recipient or a template change
//! shows on the very next request. Every other page at the link (landing,
//! closed, wrong person, a notice) is rendered each time.

use super::{AppState, PageService};
use crate::portal::Weighed;
use app::dto::PortalView;
use app::service::{AccountService, ServiceError};
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

/// A message page as rendered, split where what differs per response goes.
pub struct RenderedPage {
    /// The view it was rendered from, its token blanked.
    view: PortalView,
    headers: HeaderMap,
    /// The page's bytes between its holes; a hole after each piece but the
    /// last.
    pieces: Vec<Bytes>,
    holes: Vec<Hole>,
    /// The nonce the rendering's Content-Security-Policy named.
    nonce: Option<String>,
}

/// What each response fills in: the forms' CSRF token, and a nonce of its
/// own for the policy's script-src (a nonce served twice is no nonce).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Hole {
    Csrf,
    Nonce,
}

impl Weighed for RenderedPage {
    fn weight(&self) -> usize {
        // The view it keeps holds the decrypted bodies and replies too:
        // they stay alive as long as the page, whatever the view cache does.
        let view = match &self.view {
            PortalView::Message {
                message, replies, ..
            } => {
                message.weight()
                    + replies
                        .iter()
                        .map(|r| r.body_text.len() + r.to.len() + 64)
                        .sum::<usize>()
            }
            _ => 0,
        };
        self.pieces.iter().map(Bytes::len).sum::<usize>() + view + 1024
    }
}

/// The nonce in a Content-Security-Policy: `'nonce-<value>'`.
fn policy_nonce(headers: &HeaderMap) -> Option<String> {
    let policy = headers
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?;
    let value = policy.split("'nonce-").nth(1)?.split('\'').next()?;
    Some(value.to_string())
}

impl RenderedPage {
    /// The page split at its holes; `None` when what differs per response
    /// is not only where the holes are (kept, the page would hand one
    /// reader's token to the next).
    fn new(
        view: PortalView,
        headers: HeaderMap,
        html: Bytes,
        csrf_token: &str,
    ) -> Option<RenderedPage> {
        let nonce = policy_nonce(&headers).filter(|n| !n.is_empty());
        // Where the value stands as an attribute's, and whether it stands
        // anywhere else too (then it is no hole that can be filled).
        let holes_of = |hole: Hole, value: &str| {
            let needle = format!("=\"{value}\"");
            let holes: Vec<(usize, Hole, usize)> =
                memchr::memmem::find_iter(&html, needle.as_bytes())
                    .map(|at| (at + 2, hole, value.len()))
                    .collect();
            let only_there =
                memchr::memmem::find_iter(&html, value.as_bytes()).count() == holes.len();
            (holes, only_there)
        };
        let (mut found, csrf_alone) = holes_of(Hole::Csrf, csrf_token);
        let (nonces, nonce_alone) = nonce
            .as_deref()
            .map_or((Vec::new(), true), |n| holes_of(Hole::Nonce, n));
        if found.is_empty() || !csrf_alone || !nonce_alone {
            return None;
        }
        found.extend(nonces);
        found.sort_unstable_by_key(|(at, ..)| *at);
        let mut pieces = Vec::with_capacity(found.len() + 1);
        let mut holes = Vec::with_capacity(found.len());
        let mut from = 0;
        for (at, hole, len) in found {
            pieces.push(html.slice(from..at));
            holes.push(hole);
            from = at + len;
        }
        pieces.push(html.slice(from..));
        Some(RenderedPage {
            view,
            headers,
            pieces,
            holes,
            nonce,
        })
    }

    fn respond(&self, csrf_token: &str) -> Response {
        // Made as Leptos makes the nonce of a page it renders.
        let nonce = leptos::nonce::Nonce::new();
        let fill = |hole: &Hole| match hole {
            Hole::Csrf => csrf_token,
            Hole::Nonce => &*nonce,
        };
        let size = self.pieces.iter().map(Bytes::len).sum::<usize>()
            + self.holes.iter().map(|h| fill(h).len()).sum::<usize>();
        let mut html = Vec::with_capacity(size);
        for (piece, hole) in self
            .pieces
            .iter()
            .zip(self.holes.iter().map(Some).chain([None]))
        {
            html.extend_from_slice(piece);
            if let Some(hole) = hole {
                html.extend_from_slice(fill(hole).as_bytes());
            }
        }
        let mut response = Response::new(Body::from(html));
        *response.headers_mut() = self.headers.clone();
        if let Some(old) = &self.nonce
            && let Some(policy) = self
                .headers
                .get(header::CONTENT_SECURITY_POLICY)
                .and_then(|p| p.to_str().ok())
            && let Ok(policy) = HeaderValue::from_str(&policy.replace(old.as_str(), &nonce))
        {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        response
    }
}

/// The view the portal's page loads, made by the handler before the page
/// renders so that the checks and their side effects happen once.
#[derive(Clone)]
pub struct Precomputed {
    token: String,
    view: Arc<Mutex<Option<Result<PortalView, ServiceError>>>>,
}

impl Precomputed {
    fn new(token: &str, view: Result<PortalView, ServiceError>) -> Self {
        Precomputed {
            token: token.to_string(),
            view: Arc::new(Mutex::new(Some(view))),
        }
    }

    /// The view, once, for the link it was made for.
    pub fn take(&self, token: &str) -> Option<Result<PortalView, ServiceError>> {
        if self.token != token {
            return None;
        }
        self.view.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Kept message pages: by link and language.
pub type PageCache = crate::portal::TimedCache<RenderedPage>;

fn key(token: &str, lang: app::i18n::Lang) -> String {
    use base64::Engine;
    let digest = crate::crypto::sha256(token.as_bytes());
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("{digest}:{}", lang.code())
}

/// GET /r/{token}.
pub async fn page(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    request: Request<Body>,
) -> Response {
    let (mut parts, _) = request.into_parts();
    // A path that is no text at all (`/r/%FF`) is a link that is not
    // valid: the page says so, as for any other.
    let Ok(Path(token)) = token else {
        return state.render_page(parts).await;
    };
    let view = PageService::new(state.clone()).portal(&token, &parts).await;
    if matches!(
        view,
        Ok(PortalView::Revoked { .. } | PortalView::Removed { .. } | PortalView::Expired { .. })
    ) {
        // Never served again: not kept either.
        for lang in app::i18n::Lang::ALL {
            state.pages.remove(&key(&token, lang));
        }
    }
    // A language chosen in the query sets a cookie; the page is rendered.
    let (lang, _) = app::i18n::Lang::of_parts(&parts);
    let kept = match &view {
        Ok(
            message @ PortalView::Message {
                notice: None,
                csrf_token,
                ..
            },
        ) if parts.uri.query().is_none() && !csrf_token.is_empty() => {
            let mut blank = message.clone();
            if let PortalView::Message { csrf_token, .. } = &mut blank {
                csrf_token.clear();
            }
            Some((csrf_token.clone(), blank))
        }
        _ => None,
    };
    let Some((csrf_token, blank)) = kept else {
        parts.extensions.insert(Precomputed::new(&token, view));
        return state.render_page(parts).await;
    };
    let key = key(&token, lang);
    if let Some(page) = state.pages.get(&key)
        && page.view == blank
    {
        return page.respond(&csrf_token);
    }
    parts.extensions.insert(Precomputed::new(&token, view));
    let response = state.render_page(parts).await;
    if response.status() != StatusCode::OK || !state.pages.fits(blank_weight(&blank)) {
        return response;
    }
    let (mut head, body) = response.into_parts();
    // The page is rendered whole before it is sent: this only collects it.
    let html = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "the message page could not be rendered");
            return (StatusCode::SERVICE_UNAVAILABLE, super::UNAVAILABLE).into_response();
        }
    };
    // What is per response stays out of the kept page.
    head.headers.remove(header::SET_COOKIE);
    head.headers.remove(header::CONTENT_LENGTH);
    let Some(page) = RenderedPage::new(blank, head.headers.clone(), html.clone(), &csrf_token)
    else {
        tracing::warn!("a message page could not be split at its CSRF token: not kept");
        return Response::from_parts(head, Body::from(html));
    };
    let page = Arc::new(page);
    state.pages.put(&key, page.clone());
    page.respond(&csrf_token)
}

/// What a page made from the view would weigh, before it is rendered.
fn blank_weight(view: &PortalView) -> usize {
    match view {
        PortalView::Message { message, .. } => 2 * message.weight(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn served(page: &RenderedPage, token: &str) -> (String, String) {
        let response = page.respond(token);
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        let html = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (String::from_utf8(html.to_vec()).unwrap(), policy)
    }

    #[tokio::test]
    async fn each_view_gets_its_own_token_and_nonce() {
        let html = r#"<form><input name="csrf" value="AAA"></form><p>value="AA" nonce="N"</p><form><input name="csrf" value="AAA"></form><script nonce="NNN"></script>"#;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'nonce-NNN'"),
        );
        let page = RenderedPage::new(
            PortalView::Invalid,
            headers,
            Bytes::from_static(html.as_bytes()),
            "AAA",
        )
        .unwrap();
        assert_eq!(page.holes, [Hole::Csrf, Hole::Csrf, Hole::Nonce]);
        let (first, first_policy) = served(&page, "BBB").await;
        let nonce = first_policy
            .split("'nonce-")
            .nth(1)
            .unwrap()
            .trim_end_matches('\'');
        assert_ne!(nonce, "NNN");
        assert_eq!(
            first,
            html.replace("AAA", "BBB").replace("NNN", nonce),
            "the token and the nonce are filled in, and nothing else changes"
        );
        let (second, second_policy) = served(&page, "AAA").await;
        assert_ne!(first_policy, second_policy, "a nonce per response");
        assert!(second.contains(r#"value="AAA""#) && !second.contains("BBB"));
    }

    #[test]
    fn a_page_whose_token_is_not_only_in_its_forms_is_not_kept() {
        let split = |html: &'static str| {
            RenderedPage::new(
                PortalView::Invalid,
                HeaderMap::new(),
                Bytes::from_static(html.as_bytes()),
                "AAA",
            )
            .is_some()
        };
        assert!(split(r#"<input name="csrf" value="AAA">"#));
        assert!(
            !split("<p>no form</p>"),
            "no hole: the token went elsewhere"
        );
        assert!(!split(r#"<input value="AAA"><a href="/x?t=AAA">"#));
    }
}
