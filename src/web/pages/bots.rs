//! `/bots`: the workspace's bots, pairing by QR code, rename, unpair, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::bot_settings::settings_page;
use super::cloud_connect::{self, CloudConnectForm, CloudConnectionView};
use super::confirm::{self, Question};
use super::{NoticeQuery, form_errors, form_with_errors, redirect_with_notice, render_with_status};
use crate::billing::entitlements::Denial;
use crate::bots::model::{self, Bot, BotStatus, TransportKind};
use crate::bots::sandbox_phones;
use crate::bots::supervisor::PairCodeError;
use crate::error::ServiceError;
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, qr, render};

#[derive(Template)]
#[template(path = "partials/bot_rows.html")]
struct BotRows {
    bots: Vec<Bot>,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "pages/bots.html")]
struct BotsPage {
    layout: Layout,
    rows: BotRows,
    name: String,
    errors: FieldErrors,
    /// Why a new bot was refused by the plan, with the way to upgrade.
    limit: Option<Denial>,
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
        },
        name,
        errors,
        limit: None,
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
    })
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct NewBotForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    transport: String,
}

/// `POST /bots`: create, then straight to pairing.
pub async fn create(member: Member, form: web::Form<NewBotForm>) -> Result<HttpResponse, AppError> {
    // The sandbox when the form makes no choice (older forms); an unknown choice is refused.
    let transport = match form.transport.as_str() {
        "" => TransportKind::Sandbox,
        chosen => match chosen.parse::<TransportKind>() {
            Ok(transport) => transport,
            Err(_) => {
                let error = ServiceError::invalid("transport", "Choose how the bot connects.");
                return form_with_errors(error, async |errors| {
                    bots_page(&member, None, form.into_inner().name, errors).await
                })
                .await;
            }
        },
    };
    let state = &member.visitor.state;
    match model::create_with_transport(state, &member.scope, &form.name, transport).await {
        Ok(bot) => Ok(crate::web::error::redirect(&format!(
            "/bots/{}/pair",
            bot.id
        ))),
        Err(ServiceError::PlanLimit(denial)) => {
            let mut page =
                bots_page(&member, None, form.into_inner().name, FieldErrors::new()).await?;
            page.limit = Some(*denial);
            render_with_status(StatusCode::FORBIDDEN, &page)
        }
        Err(e) => {
            form_with_errors(e, async |errors| {
                bots_page(&member, None, form.into_inner().name, errors).await
            })
            .await
        }
    }
}

/// The pairing status: the live QR code, or "Connected as …".
#[derive(Template)]
#[template(path = "partials/bot_pair_status.html")]
pub(super) struct PairStatus {
    bot_id: String,
    connected_as: Option<String>,
    qr_svg: Option<String>,
    qr_payload: Option<String>,
    seconds_left: u64,
    /// The code to type on the phone, when linking by phone number.
    pair_code: Option<String>,
}

/// Pairing makes a phone the bot's owner: a change only owners and admins make.
fn may_pair(member: &Member) -> Result<(), AppError> {
    if member.scope.role().can_edit_workspace() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Only owners and admins can pair a bot.").into())
    }
}

/// The pairing status of one of the member's bots (starting it, so a QR code comes).
pub(super) async fn pair_status(member: &Member, bot_id: &str) -> Result<PairStatus, AppError> {
    may_pair(member)?;
    let state = &member.visitor.state;
    let bot = model::find(state, &member.scope, bot_id).await?;
    // A Cloud API number is connected only once Meta's first signed webhook arrived.
    let reachable = match bot.transport {
        TransportKind::Cloud => !matches!(bot.status, BotStatus::Pairing | BotStatus::Error),
        _ => bot.status != BotStatus::LoggedOut,
    };
    if let Some(owner) = bot.owner_number.filter(|_| reachable) {
        return Ok(PairStatus {
            bot_id: bot.id.to_string(),
            connected_as: Some(format!("+{owner}")),
            qr_svg: None,
            qr_payload: None,
            seconds_left: 0,
            pair_code: None,
        });
    }
    state.bots.ensure_running(&bot.id);
    let (payload, seconds_left) = match state.bots.current_qr(&bot.id).await {
        Some((payload, left)) => (Some(payload), left.as_secs()),
        None => (None, 0),
    };
    let pair_code = state.bots.current_pair_code(&bot.id).await.map(|(c, _)| c);
    Ok(PairStatus {
        bot_id: bot.id.to_string(),
        connected_as: None,
        qr_svg: payload.as_deref().and_then(qr::svg),
        qr_payload: payload,
        seconds_left,
        pair_code,
    })
}

#[derive(Template)]
#[template(path = "pages/bot_pair.html")]
pub(super) struct PairPage {
    layout: Layout,
    bot_id: String,
    bot_name: String,
    /// WhatsApp (not the sandbox): offer linking by phone number too.
    is_web: bool,
    /// A phone can be linked: the bot is not on the Cloud API.
    offers_phone: bool,
    /// The live QR code, when linking a phone is the choice.
    status: Option<PairStatus>,
    pair_code_form: PairCodeAnswer,
    /// The Cloud API form, when that is the choice and the bot has no connection yet.
    cloud_form: Option<CloudConnectForm>,
    /// A Cloud API bot's connection, instead of a QR code.
    cloud: Option<CloudConnectionView>,
}

/// The pairing page of one of the member's bots: a Cloud API bot's connection, else the
/// choice between linking a phone (the QR code, whose task starts here) and the Cloud API.
/// `form` is a Cloud API form to show again with its errors.
async fn pair_page(
    member: &Member,
    id: &str,
    via_cloud: bool,
    form: Option<CloudConnectForm>,
) -> Result<PairPage, AppError> {
    let bot = model::find(&member.visitor.state, &member.scope, id).await?;
    may_pair(member)?;
    let on_cloud = bot.transport == TransportKind::Cloud;
    let mut cloud = match on_cloud {
        true => cloud_connect::connection_view(member, &bot.id).await?,
        false => None,
    };
    let mut cloud_form = None;
    match (form, cloud.as_mut()) {
        (Some(form), Some(cloud)) => cloud.form = form,
        (Some(form), None) => cloud_form = Some(form),
        (None, Some(_)) => {}
        (None, None) if via_cloud || on_cloud => {
            cloud_form = Some(CloudConnectForm::new(member, &bot.id, None));
        }
        (None, None) => {}
    }
    // No QR task for a bot that connects through Meta.
    let status = match cloud.is_none() && cloud_form.is_none() {
        true => Some(pair_status(member, id).await?),
        false => None,
    };
    Ok(PairPage {
        layout: member.visitor.layout("Pair your bot"),
        bot_id: bot.id.to_string(),
        is_web: bot.transport == TransportKind::WhatsappWeb,
        offers_phone: !on_cloud,
        status,
        pair_code_form: PairCodeAnswer {
            bot_id: bot.id.to_string(),
            csrf: member.visitor.csrf.clone(),
            phone_number: String::new(),
            code: None,
            error: None,
        },
        cloud_form,
        cloud,
        bot_name: bot.name,
    })
}

/// The pairing page with the Cloud API form shown again (its errors, what was typed).
pub(super) async fn pair_page_with_form(
    member: &Member,
    id: &str,
    form: CloudConnectForm,
) -> Result<PairPage, AppError> {
    pair_page(member, id, true, Some(form)).await
}

#[derive(Debug, Deserialize)]
pub struct PairQuery {
    /// `cloud`: the Cloud API form rather than the QR code.
    via: Option<String>,
}

/// `GET /bots/{id}/pair`: the live QR code, the Cloud API form (`?via=cloud`), or a Cloud
/// API bot's connection.
pub async fn pair(
    member: Member,
    id: web::Path<String>,
    query: web::Query<PairQuery>,
) -> Result<HttpResponse, AppError> {
    let via_cloud = query.via.as_deref() == Some("cloud");
    render(&pair_page(&member, &id, via_cloud, None).await?)
}

#[derive(Debug, Deserialize)]
pub struct PhoneNumberForm {
    #[serde(default)]
    phone_number: String,
}

#[derive(Template)]
#[template(path = "partials/bot_pair_code.html")]
struct PairCodeAnswer {
    bot_id: String,
    csrf: String,
    phone_number: String,
    code: Option<String>,
    error: Option<String>,
}

/// `POST /bots/{id}/pair/code`: link by phone number; answers the code to type on the phone.
pub async fn pair_code(
    member: Member,
    id: web::Path<String>,
    form: web::Form<PhoneNumberForm>,
) -> Result<HttpResponse, AppError> {
    may_pair(&member)?;
    let state = &member.visitor.state;
    let bot = model::find(state, &member.scope, &id).await?;
    let digits: String = form
        .phone_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    let mut answer = PairCodeAnswer {
        bot_id: bot.id.to_string(),
        csrf: member.visitor.csrf.clone(),
        phone_number: form.into_inner().phone_number,
        code: None,
        error: None,
    };
    let valid = (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
    if !valid {
        answer.error =
            Some("Enter the phone's number with its country code, e.g. +44 7700 900123.".into());
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &answer);
    }
    state.bots.ensure_running(&bot.id);
    match state.bots.request_pair_code(&bot.id, &digits).await {
        Ok(code) => answer.code = Some(code),
        Err(e @ PairCodeError::NotRunningHere) => answer.error = Some(e.to_string()),
        Err(PairCodeError::Refused(reason)) => {
            tracing::warn!(bot_id = %bot.id, %reason, "WhatsApp refused a pair code");
            answer.error = Some("WhatsApp did not give a code just now. Check the number and try again in a minute.".into());
        }
    }
    // A refusal is an answer the page shows, like a code.
    render(&answer)
}

/// `GET /bots/{id}/pair/status`: the QR (rotating) or "Connected as …", polled by the page.
pub async fn pair_status_fragment(
    member: Member,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    render(&pair_status(&member, &id).await?)
}

/// `POST /bots/{id}/rename`: from the bot's settings page, and back to it.
pub async fn rename(
    member: Member,
    id: web::Path<String>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    match model::rename(&member.visitor.state, &member.scope, &id, &form.name).await {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/bots/{id}/settings"),
            "bot_renamed",
        )),
        Err(e) => {
            form_with_errors(e, async |errors| {
                let mut page = settings_page(&member, &id, None).await?;
                page.new_name = form.into_inner().name;
                page.rename_errors = errors;
                Ok(page)
            })
            .await
        }
    }
}

/// `GET /bots/{id}/unpair`: ask first.
pub async fn confirm_unpair(
    req: HttpRequest,
    member: Member,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let bot = model::find_to_change(&member.visitor.state, &member.scope, &id).await?;
    let title = format!("Unpair {}?", bot.name);
    confirm::ask(
        &req,
        member.visitor.layout(&title),
        Question {
            consequence: "The bot stops answering at once and forgets the phone it is linked \
                 to; its open sandbox phones are closed. Its settings and conversations stay. \
                 To use it again, pair it with a new QR code."
                .into(),
            title,
            action: format!("/bots/{}/unpair", bot.id),
            button: "Unpair",
            cancel: "/bots".into(),
            csrf: member.visitor.csrf.clone(),
        },
    )
}

/// `GET /bots/{id}/delete`: ask first.
pub async fn confirm_delete(
    req: HttpRequest,
    member: Member,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let bot = model::find_to_change(&member.visitor.state, &member.scope, &id).await?;
    let title = format!("Delete {}?", bot.name);
    confirm::ask(
        &req,
        member.visitor.layout(&title),
        Question {
            consequence: "This removes the bot for good, with its settings, conversations and \
                 contacts, and unlinks its phone. It cannot be undone."
                .into(),
            title,
            action: format!("/bots/{}/delete", bot.id),
            button: "Delete bot",
            cancel: "/bots".into(),
            csrf: member.visitor.csrf.clone(),
        },
    )
}

/// `POST /bots/{id}/unpair`.
pub async fn unpair(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    model::unpair(
        &member.visitor.state,
        &member.visitor.state.bots,
        &member.scope,
        &id,
        &member.visitor.client,
    )
    .await?;
    Ok(redirect_with_notice("/bots", "bot_unpaired"))
}

/// `POST /bots/{id}/delete`.
pub async fn delete(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    model::delete(
        &member.visitor.state,
        &member.visitor.state.bots,
        &member.scope,
        &id,
        &member.visitor.client,
    )
    .await?;
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
