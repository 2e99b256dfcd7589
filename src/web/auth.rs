//! Who is asking: the session cookie, the signed-in person, and the workspace in view.
//!
//! This is the only place a [`TenantScope`] is built: from a membership read from the
//! database for the session's person, never from anything the request names.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::csrf::CsrfToken;
use super::error::{AppError, SupportContact};
use super::layout::{HeaderUser, Layout};
use crate::accounts::sessions::{self, Session};
use crate::accounts::users::{self, User};
use crate::ids::UserId;
use crate::state::AppState;
use crate::tenancy::TenantScope;
use crate::tenants::audit::ClientInfo;
use crate::tenants::members::{self, WorkspaceChoice};
use crate::tenants::suspension;

/// The session cookie.
pub const SESSION_COOKIE: &str = "wdx_session";

/// A signed-in person and what the header shows about them.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub session: Session,
    pub workspaces: Vec<WorkspaceChoice>,
}

impl Account {
    /// The workspace in view: the session's, if still a member, else the first.
    pub fn current(&self) -> Option<&WorkspaceChoice> {
        let chosen = self.session.tenant_id.as_deref();
        self.workspaces
            .iter()
            .find(|w| Some(w.tenant_id.as_str()) == chosen)
            .or_else(|| self.workspaces.first())
    }
}

/// Anyone: their CSRF token, client info, and their account when signed in.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub csrf: String,
    pub client: ClientInfo,
    pub account: Option<Account>,
    pub state: web::Data<AppState>,
}

impl Visitor {
    /// The base layout for a page titled `title`.
    pub fn layout(&self, title: &str) -> Layout {
        let mut layout = Layout::new(title);
        layout.csrf = self.csrf.clone();
        if let Some(account) = &self.account {
            layout.user = Some(HeaderUser {
                name: account.user.name.clone(),
                verified: account.user.is_verified(),
                is_platform_admin: account.user.is_platform_admin,
            });
            layout.current_workspace = account.current().cloned();
            layout.workspaces = account.workspaces.clone();
        }
        layout
    }

    /// The signed-in account, or a redirect to the sign-in page (and back here after).
    fn require_account(&self, req: &HttpRequest) -> Result<&Account, AppError> {
        self.account
            .as_ref()
            .ok_or_else(|| AppError::SignInRequired {
                next: req
                    .uri()
                    .path_and_query()
                    .map_or_else(|| "/".to_owned(), |p| p.to_string()),
            })
    }
}

async fn load_account(state: &AppState, req: &HttpRequest) -> Result<Option<Account>, AppError> {
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let Some(session) = sessions::resolve(state, &token).await? else {
        return Ok(None);
    };
    let user_id = session.user_id.clone();
    let Some(user) = state
        .db
        .run(move |conn| users::find_by_id(conn, &user_id))
        .await?
    else {
        return Ok(None);
    };
    let workspaces = members::workspaces_of(state, &user.id).await?;
    Ok(Some(Account {
        user,
        session,
        workspaces,
    }))
}

impl FromRequest for Visitor {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            // Several extractors in one handler share one lookup.
            if let Some(visitor) = req.extensions().get::<Visitor>() {
                return Ok(visitor.clone());
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal("application state missing"))?;
            let csrf = req
                .extensions()
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default();
            let client = super::client::client_info(&req, state.config.behind_proxy);
            let account = load_account(&state, &req).await?;
            let visitor = Visitor {
                csrf,
                client,
                account,
                state,
            };
            req.extensions_mut().insert(visitor.clone());
            Ok(visitor)
        })
    }
}

/// A signed-in person, in a workspace or not yet in any (their own settings, a new
/// workspace). Anyone else is sent to sign in and brought back.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub visitor: Visitor,
    pub account: Account,
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let visitor = Visitor::from_request(&req, payload);
        Box::pin(async move {
            let visitor = visitor.await?;
            let account = visitor.require_account(&req)?.clone();
            Ok(SignedIn { visitor, account })
        })
    }
}

/// A signed-in member of the workspace in view, with the scope every tenant query takes.
#[derive(Debug, Clone)]
pub struct Member {
    pub visitor: Visitor,
    pub scope: TenantScope,
}

impl FromRequest for Member {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        Box::pin(async move {
            let SignedIn { visitor, account } = signed_in.await?;
            let current = account.current().ok_or(AppError::NoWorkspace)?;
            if suspension::is_suspended(&visitor.state.db, &current.tenant_id).await? {
                return Err(AppError::Suspended(SupportContact::of(
                    &visitor.state.config,
                )));
            }
            let scope = TenantScope::from_membership(
                current.tenant_id.clone(),
                account.user.id.clone(),
                current.role,
            );
            Ok(Member { visitor, scope })
        })
    }
}

/// The session cookie for a new sign-in: persistent only with "keep me signed in".
pub fn session_cookie(token: String, remember: bool, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    if remember {
        let days = sessions::Lifetime::for_session(true).absolute.num_days();
        cookie.set_max_age(time::Duration::days(days));
    }
    cookie
}

/// The redirect after a sign-in or sign-up: the new session's cookie and, with a new session,
/// a new CSRF token.
pub fn signed_in_redirect(
    location: &str,
    token: String,
    remember: bool,
    state: &AppState,
) -> Result<actix_web::HttpResponse, AppError> {
    let secure = state.config.behind_tls();
    let mut response = super::error::redirect(location);
    response
        .add_cookie(&session_cookie(token, remember, secure))
        .map_err(AppError::internal)?;
    response
        .add_cookie(&super::csrf::cookie(crate::ids::new_token(), secure))
        .map_err(AppError::internal)?;
    Ok(response)
}

/// A cookie that makes the browser forget its session.
pub fn cleared_session_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}

/// A signed-in platform admin. Anyone else (signed out included) gets a plain 404, so the
/// admin pages do not even admit they exist.
#[derive(Debug, Clone)]
pub struct PlatformAdmin {
    pub visitor: Visitor,
    pub user_id: UserId,
}

impl PlatformAdmin {
    /// The admin as the audit trail names them.
    pub fn actor(&self) -> crate::admin::tenants::AdminActor {
        crate::admin::tenants::AdminActor {
            user_id: self.user_id.clone(),
            client: self.visitor.client.clone(),
        }
    }
}

impl FromRequest for PlatformAdmin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let visitor = Visitor::from_request(req, payload);
        Box::pin(async move {
            let visitor = visitor.await?;
            let user_id = match &visitor.account {
                Some(account) if account.user.is_platform_admin => account.user.id.clone(),
                _ => return Err(AppError::NotFound),
            };
            Ok(PlatformAdmin { visitor, user_id })
        })
    }
}
