//! `/onboarding`: the wizard after sign-up. Each step saves its progress; Back goes to the
//! previous step; every page can be left for the dashboard and resumed later.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::billing::PlanCard;
use super::bots::{PairStatus, pair_status};
use super::template_picker::TemplateCards;
use super::{NoticeQuery, form_with_errors};
use crate::billing::plan_usage::{self, PlanUsage};
use crate::bots::model::TransportKind;
use crate::bots::{model, picker};
use crate::error::ServiceError;
use crate::onboarding::{self, PlanChoice, Step};
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::error::SupportContact;
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
    /// The text field's value (the bot's name), or the plan step's choice.
    value: String,
    errors: FieldErrors,
    /// The plan step: the workspace's plan and trial, and the plans to choose from.
    overview: Option<PlanUsage>,
    plans: Vec<PlanOption>,
    /// Whether this person can buy a plan here (the owner, with Stripe configured).
    can_buy: bool,
    is_owner: bool,
    /// Whom to ask for another plan when this server sells none.
    support: SupportContact,
    cards: Option<TemplateCards>,
    pair: Option<PairStatus>,
    is_web: bool,
    bot_id: Option<String>,
    bot_name: String,
}

/// A plan on the plan step, and how it can be chosen there.
struct PlanOption {
    card: PlanCard,
    /// The radio button's value; None when it cannot be chosen here.
    value: Option<String>,
    /// A word on what choosing it does.
    note: String,
}

impl PlanOption {
    fn list(
        overview: &PlanUsage,
        catalogue: &[crate::billing::plans::Plan],
        can_buy: bool,
    ) -> Vec<Self> {
        catalogue
            .iter()
            .map(|plan| {
                let card = PlanCard::new(plan, Some(&overview.plan.id));
                let (value, note) = if card.is_current {
                    let note = match &overview.trial {
                        Some(trial) => {
                            format!("Your free trial, until {}", trial.ends_at.format("%B %-d"))
                        }
                        None => "Your plan".to_owned(),
                    };
                    (Some("keep".to_owned()), note)
                } else if card.is_free {
                    let note = if overview.trial.is_some() {
                        "Ends your trial now"
                    } else {
                        "Free forever"
                    };
                    (Some("free".to_owned()), note.to_owned())
                } else if can_buy {
                    (
                        Some(plan.id.clone()),
                        "Continue to secure checkout".to_owned(),
                    )
                } else {
                    (None, String::new())
                };
                Self { card, value, note }
            })
            .collect()
    }
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
        (None, Step::Bot) => bot.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
        (None, Step::Plan) => "keep".to_owned(),
        (None, _) => String::new(),
    };
    let is_owner = member.scope.role().is_owner();
    let can_buy = is_owner && state.config.billing.checkout_enabled();
    let (overview, plans) = if step == Step::Plan {
        let overview = plan_usage::load(state, &member.scope).await?;
        let catalogue = plan_usage::catalogue(state).await?;
        let plans = PlanOption::list(&overview, &catalogue, can_buy);
        (Some(overview), plans)
    } else {
        (None, Vec::new())
    };
    let cards = if step == Step::Template {
        Some(TemplateCards {
            cards: picker::cards(state, &member.scope, None).await?,
            csrf: member.visitor.csrf.clone(),
            action: "/onboarding/template".into(),
            bot_id: None,
            offer_reset: false,
            can_apply: member.scope.role().can_edit_workspace(),
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
        overview,
        plans,
        can_buy,
        is_owner,
        support: SupportContact::of(&state.config),
        cards,
        pair,
        is_web: bot
            .as_ref()
            .is_some_and(|b| b.transport == TransportKind::WhatsappWeb),
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
    // Ok(Some(url)): the step is done and the person goes there (Stripe's checkout) first.
    let done: Result<Option<String>, ServiceError> = match step {
        Step::Plan => onboarding::choose_plan(state, scope, &PlanChoice::parse(&form.plan)).await,
        Step::Bot => onboarding::name_bot(state, scope, &form.name)
            .await
            .map(|_| None),
        Step::Template => onboarding::choose_template(state, scope, &form.template_id)
            .await
            .map(|_| None),
        Step::Pair | Step::Test | Step::Done => Ok(None),
    };
    match done {
        Ok(elsewhere) => {
            let next = step.next();
            onboarding::go_to(state, scope, next, None).await?;
            Ok(redirect(&elsewhere.unwrap_or_else(|| {
                format!("/onboarding/{}", next.as_str())
            })))
        }
        Err(e) => {
            let form = form.into_inner();
            let value = Some(if step == Step::Plan {
                form.plan
            } else {
                form.name
            });
            form_with_errors(e, async |errors| {
                wizard_page(&member, step, value, errors, None).await
            })
            .await
        }
    }
}
