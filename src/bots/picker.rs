//! The template picker's cards: every shipped template, with a lock where the workspace's
//! plan lacks what a premium template needs.

use super::presets::{self, Template};
use crate::billing::entitlements::{self, Action, Decision};
use crate::context::Context;
use crate::error::ServiceResult;
use crate::tenancy::TenantScope;

/// One card of the picker.
#[derive(Debug, Clone)]
pub struct TemplateCard {
    pub template: Template,
    /// Why it cannot be applied on the current plan (the refusal's sentence), if so.
    pub locked: Option<String>,
}

/// The cards for the scope's workspace, optionally of one category only.
pub async fn cards(
    ctx: &Context,
    scope: &TenantScope,
    category: Option<&str>,
) -> ServiceResult<Vec<TemplateCard>> {
    let wanted: Vec<Template> = presets::catalogue()
        .into_iter()
        .filter(|t| category.is_none_or(|c| t.category.eq_ignore_ascii_case(c)))
        .collect();
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            wanted
                .into_iter()
                .map(|template| {
                    let locked = match template.premium {
                        Some(feature) => {
                            match entitlements::check_in(conn, &tenant_id, Action::Use(feature))? {
                                Decision::Allowed => None,
                                Decision::Denied(denial) => Some(denial.message()),
                            }
                        }
                        None => None,
                    };
                    Ok(TemplateCard { template, locked })
                })
                .collect::<diesel::QueryResult<Vec<_>>>()
        })
        .await?)
}
