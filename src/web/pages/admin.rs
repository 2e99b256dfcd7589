//! `/admin/…`: the platform admin's pages. Every handler takes a [`PlatformAdmin`], so anyone
//! else gets 404 on every admin route.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{NoticeQuery, form_with_errors, redirect_with_notice};
use crate::admin::charts;
use crate::admin::platform_metrics::{self, PlatformMetrics};
use crate::admin::tenants::{self, TenantDetail, TenantRow};
use crate::validation::FieldErrors;
use crate::web::auth::PlatformAdmin;
use crate::web::error::redirect;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

/// "$1,234" from cents (whole units; estimates need no cents).
fn money(cents: &i64) -> String {
    let units = cents / 100;
    let digits = units.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}${grouped}", if units < 0 { "-" } else { "" })
}

#[derive(Template)]
#[template(path = "pages/admin_metrics.html")]
struct MetricsPage {
    layout: Layout,
    o: PlatformMetrics,
    messages_chart: String,
    signups_chart: String,
}

impl MetricsPage {
    fn money(&self, cents: &i64) -> String {
        money(cents)
    }
}

/// `GET /admin`: the dashboard is the admin's front page.
pub async fn home(_admin: PlatformAdmin) -> HttpResponse {
    redirect("/admin/metrics")
}

/// `GET /admin/metrics`: the platform at a glance.
pub async fn metrics(admin: PlatformAdmin) -> Result<HttpResponse, AppError> {
    let o = platform_metrics::load(&admin.visitor.state.db).await?;
    let per_day: Vec<_> = o
        .messages_per_day
        .iter()
        .map(|d| (d.day, d.total()))
        .collect();
    let messages_chart = charts::daily_bars("Messages per day", &per_day, charts::MESSAGES);
    let signups_chart = charts::daily_bars("Sign-ups per day", &o.signups_per_day, charts::SIGNUPS);
    render(&MetricsPage {
        layout: admin.visitor.layout("Platform metrics"),
        o,
        messages_chart,
        signups_chart,
    })
}

#[derive(Debug, Deserialize)]
pub struct TenantQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: i64,
}

#[derive(Template)]
#[template(path = "pages/admin_tenants.html")]
struct TenantsPage {
    layout: Layout,
    q: String,
    page: i64,
    tenants: Vec<TenantRow>,
    has_more: bool,
}

impl TenantsPage {
    fn page_link(&self, page: i64) -> String {
        let q: String = url::form_urlencoded::byte_serialize(self.q.as_bytes()).collect();
        format!("/admin/tenants?q={q}&page={page}")
    }
}

/// `GET /admin/tenants?q=…&page=…`.
pub async fn tenant_list(
    admin: PlatformAdmin,
    query: web::Query<TenantQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let tenants = tenants::list(&admin.visitor.state, &query.q, query.page).await?;
    render(&TenantsPage {
        layout: admin.visitor.layout("Tenants"),
        has_more: i64::try_from(tenants.len()).unwrap_or(0) == tenants::PAGE_SIZE,
        q: query.q,
        page: query.page.max(0),
        tenants,
    })
}

#[derive(Template)]
#[template(path = "pages/admin_tenant.html")]
struct TenantPage {
    layout: Layout,
    t: TenantDetail,
    usage_chart: String,
    errors: FieldErrors,
    /// Which form the errors and `typed` belong to.
    failed_form: &'static str,
    typed: String,
}

impl TenantPage {
    fn typed_for(&self, form: &str) -> &str {
        if self.failed_form == form {
            &self.typed
        } else {
            ""
        }
    }

    fn error_for(&self, form: &str) -> Option<&str> {
        if self.failed_form == form {
            self.errors.get("reason").or(self.errors.get("plan"))
        } else {
            None
        }
    }

    fn is_current_choice(&self, plan_id: &str) -> bool {
        self.t.plan_override.as_deref() == Some(plan_id)
    }
}

async fn tenant_page(
    admin: &PlatformAdmin,
    id: &str,
    notice: Option<&str>,
    failed_form: &'static str,
    typed: String,
    errors: FieldErrors,
) -> Result<TenantPage, AppError> {
    let t = tenants::detail(&admin.visitor.state, id).await?;
    let usage_chart = charts::daily_bars("Messages per day", &t.messages_per_day, charts::MESSAGES);
    Ok(TenantPage {
        layout: admin.visitor.layout(&t.name).with_notice(notice),
        t,
        usage_chart,
        errors,
        failed_form,
        typed,
    })
}

/// `GET /admin/tenants/{id}`.
pub async fn tenant(
    admin: PlatformAdmin,
    path: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let page = tenant_page(
        &admin,
        &path,
        query.notice.as_deref(),
        "",
        String::new(),
        FieldErrors::new(),
    )
    .await?;
    render(&page)
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    plan: String,
}

/// After an action: back to the tenant page with a notice, or the page again with the error
/// next to the field and the reason as typed.
async fn after_action(
    admin: &PlatformAdmin,
    id: &str,
    form_name: &'static str,
    typed: String,
    result: crate::error::ServiceResult<()>,
    notice: &str,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/admin/tenants/{id}"),
            notice,
        )),
        Err(e) => {
            form_with_errors(e, async |errors| {
                tenant_page(admin, id, None, form_name, typed, errors).await
            })
            .await
        }
    }
}

/// `POST /admin/tenants/{id}/suspend`.
pub async fn suspend(
    admin: PlatformAdmin,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let state = &admin.visitor.state;
    let result = tenants::suspend(state, &admin.actor(), &path, &form.reason).await;
    if let Ok(bots) = &result {
        state.bots.apply(bots, &[]).await;
    }
    let result = result.map(drop);
    after_action(
        &admin,
        &path,
        "suspend",
        form.into_inner().reason,
        result,
        "tenant_suspended",
    )
    .await
}

/// `POST /admin/tenants/{id}/unsuspend`.
pub async fn unsuspend(
    admin: PlatformAdmin,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let state = &admin.visitor.state;
    let result = tenants::unsuspend(state, &admin.actor(), &path, &form.reason).await;
    if let Ok(bots) = &result {
        state.bots.apply(&[], bots).await;
    }
    let result = result.map(drop);
    after_action(
        &admin,
        &path,
        "unsuspend",
        form.into_inner().reason,
        result,
        "tenant_unsuspended",
    )
    .await
}

/// `POST /admin/tenants/{id}/plan`.
pub async fn change_plan(
    admin: PlatformAdmin,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let state = &admin.visitor.state;
    let result = tenants::change_plan(state, &admin.actor(), &path, &form.plan, &form.reason).await;
    if let Ok(changes) = &result {
        state.bots.apply_plan_changes(changes).await;
    }
    let result = result.map(drop);
    after_action(
        &admin,
        &path,
        "plan",
        form.into_inner().reason,
        result,
        "plan_changed",
    )
    .await
}

/// `POST /admin/tenants/{id}/resend-verification`.
pub async fn resend_verification(
    admin: PlatformAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sent = tenants::resend_verification(&admin.visitor.state, &admin.actor(), &path).await?;
    let notice = if sent == 0 {
        "owners_verified"
    } else {
        "verification_resent"
    };
    Ok(redirect_with_notice(
        &format!("/admin/tenants/{path}"),
        notice,
    ))
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_is_grouped_in_thousands() {
        assert_eq!(money(&0), "$0");
        assert_eq!(money(&4_900), "$49");
        assert_eq!(money(&123_456_700), "$1,234,567");
    }
}
