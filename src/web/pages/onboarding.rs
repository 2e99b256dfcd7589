//! `/onboarding`: the wizard after sign-up. Each step saves its progress; Back goes to the
//! previous step; every page can be left for the dashboard and resumed later.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::bots::{PairStatus, pair_status};
use super::template_picker::TemplateCards;
use super::{NoticeQuery, form_with_errors};
use crate::billing::entitlements::UPGRADE_PATH;
use crate::billing::plans::{self, Plan};
use crate::bots::{model, picker};
use crate::error::ServiceError;
use crate::onboarding::{self, Step};
use crate::tenants::workspaces;
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::error::redirect;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Template)]
#[template(path = "pages/onboarding.html")]
struct WizardPage {
    layout: Layout,
    step: Step,
    steps: Vec<Step>,
    previous: Option<Step>,
    /// The text field's value (workspace or bot name).
    value: String,
    errors: FieldErrors,
    plans: Vec<Plan>,
    upgrade_path: &'static str,
    cards: Option<TemplateCards>,
    pair: Option<PairStatus>,
    bot_id: Option<String>,
    bot_name: String,
}

fn step_of(name: &str) -> Result<Step, AppError> {
    Step::parse(name).ok_or(AppError::NotFound)
}

async fn wizard_page(
    member: &Member,
    step: Step,
    value: Option<String>,
    errors: FieldErrors,
    notice: Option<&str>,
) -> Result<WizardPage, AppError> {
    let state = &member.visitor.state;
    let progress = onboarding::progress(state, &member.scope).await?;
    let bot = match &progress.bot_id {
        Some(id) => model::find(state, &member.scope, id).await.ok(),
        None => None,
    };
    let value = match (value, step) {
        (Some(v), _) => v,
        (None, Step::Workspace) => workspaces::find(state, &member.scope).await?.name,
        (None, Step::Bot) => bot.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
        (None, _) => String::new(),
    };
    let plans = if step == Step::Plan {
        state
            .db
            .run(plans::list)
            .await
            .map_err(ServiceError::from)?
    } else {
        Vec::new()
    };
    let cards = if step == Step::Template {
        Some(TemplateCards {
            cards: picker::cards(state, &member.scope, None).await?,
            csrf: member.visitor.csrf.clone(),
            action: "/onboarding/template".into(),
            bot_id: None,
            offer_reset: false,
            errors: errors.clone(),
        })
    } else {
        None
    };
    let pair = match (step, &bot) {
        (Step::Pair, Some(bot)) => Some(pair_status(member, &bot.id).await?),
        _ => None,
    };
    Ok(WizardPage {
        layout: member.visitor.layout(step.title()).with_notice(notice),
        step,
        steps: Step::ALL.to_vec(),
        previous: step.previous(),
        value,
        errors,
        plans,
        upgrade_path: UPGRADE_PATH,
        cards,
        pair,
        bot_name: bot.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
        bot_id: bot.map(|b| b.id.to_string()),
    })
}

/// `GET /onboarding`: to the step the workspace is at.
pub async fn resume(member: Member) -> Result<HttpResponse, AppError> {
    let progress = onboarding::progress(&member.visitor.state, &member.scope).await?;
    Ok(redirect(&format!("/onboarding/{}", progress.step.as_str())))
}

/// `GET /onboarding/{step}`: show a step (and remember it, so Back and coming back work).
pub async fn show(
    member: Member,
    step: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let step = step_of(&step)?;
    onboarding::go_to(&member.visitor.state, &member.scope, step, None).await?;
    let notice = query.notice.as_deref();
    render(&wizard_page(&member, step, None, FieldErrors::new(), notice).await?)
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    template_id: String,
    #[serde(default)]
    plan: String,
}

/// `POST /onboarding/{step}`: do the step, then the next one.
pub async fn submit(
    member: Member,
    step: web::Path<String>,
    form: web::Form<StepForm>,
) -> Result<HttpResponse, AppError> {
    let step = step_of(&step)?;
    let state = &member.visitor.state;
    let scope = &member.scope;
    let done: Result<(), ServiceError> = match step {
        Step::Workspace => {
            workspaces::rename(state, scope, &form.name, &member.visitor.client).await
        }
        Step::Bot => onboarding::name_bot(state, scope, &form.name)
            .await
            .map(drop),
        Step::Template => onboarding::choose_template(state, scope, &form.template_id)
            .await
            .map(drop),
        // Choosing Free means Free: the trial every workspace starts with ends here.
        Step::Plan if form.plan == "free" && scope.role().can_edit_workspace() => {
            let tenant = scope.tenant_id().to_owned();
            state
                .db
                .run_in(scope.rows(), move |conn| {
                    crate::billing::subscriptions::decline_trial_in(conn, &tenant)
                })
                .await
                .map(drop)
                .map_err(Into::into)
        }
        Step::Plan | Step::Pair | Step::Test | Step::Done => Ok(()),
    };
    match done {
        Ok(()) => {
            let next = step.next();
            onboarding::go_to(state, scope, next, None).await?;
            Ok(redirect(&format!("/onboarding/{}", next.as_str())))
        }
        Err(e) => {
            let value = Some(form.into_inner().name);
            form_with_errors(e, async |errors| {
                wizard_page(&member, step, value, errors, None).await
            })
            .await
        }
    }
}
