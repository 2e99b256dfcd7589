//! `/bots`: the workspace's bots, pairing by QR code, rename, unpair, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{NoticeQuery, form_errors, redirect_with_notice, render_with_status};
use crate::bots::model::{self, Bot, BotStatus};
use crate::bots::sandbox_phones;
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, qr, render};

#[derive(Template)]
#[template(path = "partials/bot_rows.html")]
struct BotRows {
    bots: Vec<Bot>,
    can_edit: bool,
    csrf: String,
}

#[derive(Template)]
#[template(path = "pages/bots.html")]
struct BotsPage {
    layout: Layout,
    rows: BotRows,
    name: String,
    errors: FieldErrors,
}

async fn bots_page(
    member: &Member,
    notice: Option<&str>,
    name: String,
    errors: FieldErrors,
) -> Result<BotsPage, AppError> {
    let bots = model::list(&member.visitor.state, &member.scope).await?;
    Ok(BotsPage {
        layout: member.visitor.layout("Bots").with_notice(notice),
        rows: BotRows {
            bots,
            can_edit: member.scope.role().can_edit_workspace(),
            csrf: member.visitor.csrf.clone(),
        },
        name,
        errors,
    })
}

/// `GET /bots`.
pub async fn list(
    member: Member,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    render(
        &bots_page(
            &member,
            query.notice.as_deref(),
            String::new(),
            FieldErrors::new(),
        )
        .await?,
    )
}

/// `GET /bots/rows`: the table body, polled for live status.
pub async fn rows(member: Member) -> Result<HttpResponse, AppError> {
    let bots = model::list(&member.visitor.state, &member.scope).await?;
    render(&BotRows {
        bots,
        can_edit: member.scope.role().can_edit_workspace(),
        csrf: member.visitor.csrf.clone(),
    })
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /bots`: create, then straight to pairing.
pub async fn create(member: Member, form: web::Form<NameForm>) -> Result<HttpResponse, AppError> {
    match model::create(&member.visitor.state, &member.scope, &form.name).await {
        Ok(bot) => Ok(crate::web::error::redirect(&format!(
            "/bots/{}/pair",
            bot.id
        ))),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            render_with_status(
                status,
                &bots_page(&member, None, form.into_inner().name, errors).await?,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "partials/bot_pair_status.html")]
struct PairStatus {
    bot_id: String,
    connected_as: Option<String>,
    qr_svg: Option<String>,
    qr_payload: Option<String>,
    seconds_left: u64,
}

async fn pair_status(member: &Member, bot_id: &str) -> Result<PairStatus, AppError> {
    let state = &member.visitor.state;
    let bot = model::find(state, &member.scope, bot_id).await?;
    if let Some(owner) = bot
        .owner_number
        .filter(|_| bot.status.as_str() != BotStatus::LoggedOut.as_str())
    {
        return Ok(PairStatus {
            bot_id: bot.id,
            connected_as: Some(format!("+{owner}")),
            qr_svg: None,
            qr_payload: None,
            seconds_left: 0,
        });
    }
    state.bots.ensure_running(&bot.id);
    let (payload, seconds_left) = match state.bots.current_qr(&bot.id).await {
        Some((payload, left)) => (Some(payload), left.as_secs()),
        None => (None, 0),
    };
    Ok(PairStatus {
        bot_id: bot.id,
        connected_as: None,
        qr_svg: payload.as_deref().and_then(qr::svg),
        qr_payload: payload,
        seconds_left,
    })
}

#[derive(Template)]
#[template(path = "pages/bot_pair.html")]
struct PairPage {
    layout: Layout,
    bot_name: String,
    status: PairStatus,
}

/// `GET /bots/{id}/pair`: the live QR code.
pub async fn pair(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let bot = model::find(&member.visitor.state, &member.scope, &id).await?;
    let status = pair_status(&member, &id).await?;
    render(&PairPage {
        layout: member.visitor.layout("Pair your bot"),
        bot_name: bot.name,
        status,
    })
}

/// `GET /bots/{id}/pair/status`: the QR (rotating) or "Connected as …", polled by the page.
pub async fn pair_status_fragment(
    member: Member,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    render(&pair_status(&member, &id).await?)
}

/// `POST /bots/{id}/rename`.
pub async fn rename(
    member: Member,
    id: web::Path<String>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    match model::rename(&member.visitor.state, &member.scope, &id, &form.name).await {
        Ok(()) => Ok(redirect_with_notice("/bots", "bot_renamed")),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            render_with_status(
                status,
                &bots_page(&member, None, String::new(), errors).await?,
            )
        }
    }
}

/// `POST /bots/{id}/unpair`.
pub async fn unpair(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    model::unpair(&member.visitor.state, &member.scope, &id).await?;
    Ok(redirect_with_notice("/bots", "bot_unpaired"))
}

/// `POST /bots/{id}/delete`.
pub async fn delete(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    model::delete(&member.visitor.state, &member.scope, &id).await?;
    Ok(redirect_with_notice("/bots", "bot_deleted"))
}

#[derive(Debug, Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    number: String,
}

/// `POST /bots/{id}/sandbox-phone`: open a simulated customer's phone for the bot.
pub async fn customer_phone(
    member: Member,
    id: web::Path<String>,
    form: web::Form<PhoneForm>,
) -> Result<HttpResponse, AppError> {
    match sandbox_phones::new_customer_phone(
        &member.visitor.state,
        &member.scope,
        &id,
        &form.name,
        &form.number,
    )
    .await
    {
        Ok(token) => Ok(crate::web::error::redirect(&format!(
            "/sandbox/phone/{token}"
        ))),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let status = if status == StatusCode::OK {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                status
            };
            render_with_status(
                status,
                &bots_page(&member, None, String::new(), errors).await?,
            )
        }
    }
}
