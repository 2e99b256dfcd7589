//! The onboarding wizard after sign-up: plan → bot → template → pair → test → done (sign-up
//! already asked for the business's name). Progress is stored per workspace, so leaving and
//! coming back lands on the same step.

use chrono::Utc;
use diesel::prelude::*;

use crate::billing::{checkout, subscriptions};
use crate::bots::{model, settings};
use crate::context::Context;
use crate::db::DbConn;
use crate::db::schema::onboarding;
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Plan,
    Bot,
    Template,
    Pair,
    Test,
    Done,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [
        Step::Plan,
        Step::Bot,
        Step::Template,
        Step::Pair,
        Step::Test,
        Step::Done,
    ];

    /// The name in URLs and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Bot => "bot",
            Self::Template => "template",
            Self::Pair => "pair",
            Self::Test => "test",
            Self::Done => "done",
        }
    }

    /// The step's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Plan => "Choose a plan",
            Self::Bot => "Name your bot",
            Self::Template => "Pick a template",
            Self::Pair => "Pair your phone",
            Self::Test => "Send a test message",
            Self::Done => "All set",
        }
    }

    /// The first step.
    pub const FIRST: Step = Step::Plan;

    /// The step by name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Position, 1-based.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// The step after this one.
    pub fn next(self) -> Self {
        Self::ALL.get(self.number()).copied().unwrap_or(Self::Done)
    }

    /// The step before this one.
    pub fn previous(self) -> Option<Self> {
        self.number().checked_sub(2).map(|i| Self::ALL[i])
    }
}

/// Where a workspace is in the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub step: Step,
    /// The bot made in the wizard, once named.
    pub bot_id: Option<String>,
}

fn load_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Progress> {
    let row: Option<(String, Option<String>)> = onboarding::table
        .find(tenant_id)
        .select((onboarding::step, onboarding::bot_id))
        .first(conn)
        .optional()?;
    Ok(match row {
        // A step this binary no longer has (the old "workspace" step) starts from the top.
        Some((step, bot_id)) => Progress {
            step: Step::parse(&step).unwrap_or(Step::FIRST),
            bot_id,
        },
        None => Progress {
            step: Step::FIRST,
            bot_id: None,
        },
    })
}

fn save_in(conn: &mut DbConn, tenant_id: &str, progress: &Progress) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    let upsert = diesel::insert_into(onboarding::table)
        .values((
            onboarding::tenant_id.eq(tenant_id),
            onboarding::step.eq(progress.step.as_str()),
            onboarding::bot_id.eq(&progress.bot_id),
            onboarding::updated_at.eq(now),
        ))
        .on_conflict(onboarding::tenant_id)
        .do_update()
        .set((
            onboarding::step.eq(progress.step.as_str()),
            onboarding::bot_id.eq(&progress.bot_id),
            onboarding::updated_at.eq(now),
        ));
    crate::on_backend!(conn, c => upsert.execute(c)).map(drop)
}

/// The scope's progress.
pub async fn progress(ctx: &Context, scope: &TenantScope) -> ServiceResult<Progress> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| load_in(conn, &tenant_id))
        .await?)
}

/// Remember that the workspace is at `step` (Back, or a step done).
pub async fn go_to(
    ctx: &Context,
    scope: &TenantScope,
    step: Step,
    bot_id: Option<String>,
) -> ServiceResult<Progress> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let mut progress = load_in(conn, &tenant_id)?;
            progress.step = step;
            if bot_id.is_some() {
                progress.bot_id = bot_id;
            }
            save_in(conn, &tenant_id, &progress)?;
            Ok(progress)
        })
        .await?)
}

/// What the plan step asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanChoice {
    /// Stay on the plan the workspace is on: its trial, by default.
    Keep,
    /// The free plan: a trial in progress ends now.
    Free,
    /// Buy this paid plan through Stripe's checkout.
    Paid(String),
}

impl PlanChoice {
    /// The radio button's value: `keep` (also when nothing was chosen), `free` or a plan id.
    pub fn parse(raw: &str) -> Self {
        match raw.trim() {
            "" | "keep" => Self::Keep,
            "free" => Self::Free,
            plan => Self::Paid(plan.to_owned()),
        }
    }
}

/// The plan step. Returns Stripe's checkout page for a paid plan; the caller moves on.
pub async fn choose_plan(
    ctx: &Context,
    scope: &TenantScope,
    choice: &PlanChoice,
) -> ServiceResult<Option<String>> {
    match choice {
        PlanChoice::Keep => Ok(None),
        PlanChoice::Free => {
            if !scope.role().can_edit_workspace() {
                return Err(ServiceError::Forbidden(
                    "Only the workspace's owner or an admin can change the plan.",
                ));
            }
            let tenant_id = scope.tenant_id().to_owned();
            ctx.db
                .run_in(scope.rows(), move |conn| {
                    subscriptions::decline_trial_in(conn, &tenant_id)
                })
                .await?;
            Ok(None)
        }
        PlanChoice::Paid(plan_id) => Ok(Some(checkout::start_checkout(ctx, scope, plan_id).await?)),
    }
}

/// The bot step: create the bot (or rename the one made earlier in the wizard).
pub async fn name_bot(ctx: &Context, scope: &TenantScope, name: &str) -> ServiceResult<Progress> {
    let current = progress(ctx, scope).await?;
    let bot_id = match current.bot_id {
        Some(id) if model::find(ctx, scope, &id).await.is_ok() => {
            model::rename(ctx, scope, &id, name).await?;
            id
        }
        _ => model::create(ctx, scope, name).await?.id.into(),
    };
    go_to(ctx, scope, Step::Template, Some(bot_id)).await
}

/// The template step: apply the chosen template to the wizard's bot.
pub async fn choose_template(
    ctx: &Context,
    scope: &TenantScope,
    template_id: &str,
) -> ServiceResult<Progress> {
    let current = progress(ctx, scope).await?;
    let bot_id = current.bot_id.ok_or_else(|| {
        ServiceError::invalid("template", "Name your bot first (go back one step).")
    })?;
    settings::apply_template(ctx, scope, &bot_id, template_id, true).await?;
    go_to(ctx, scope, Step::Pair, None).await
}
