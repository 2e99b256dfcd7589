//! A bot on Meta's WhatsApp Cloud API, from its pairing page: the connect form
//! (`POST /bots/{id}/cloud`), the connection with the two values to paste into Meta's
//! dashboard, "Connected" once Meta's first signed webhook arrives, and the latest messages.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{form_errors, render_with_status};
use crate::bots::cloud_setup::{self, CloudSetup};
use crate::bots::recent_messages::{self, RecentMessage};
use crate::bots::transport::cloud_api::connect::{self, ConnectForm};
use crate::error::ServiceError;
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::{AppError, render};

/// How many messages the "Latest messages" panel lists.
const LATEST: i64 = 20;

/// The connect form: phone number ID, business account ID, access token, app secret.
#[derive(Template)]
#[template(path = "partials/cloud_connect_form.html")]
pub(super) struct CloudConnectForm {
    bot_id: String,
    csrf: String,
    form: ConnectForm,
    errors: FieldErrors,
    /// Shown under a connection: a new token for the same bot.
    reconnect: bool,
}

impl CloudConnectForm {
    /// An empty form (or, to reconnect, one with the number's two IDs filled in).
    pub(super) fn new(member: &Member, bot_id: &str, setup: Option<&CloudSetup>) -> Self {
        let mut form = ConnectForm::default();
        if let Some(setup) = setup {
            form.phone_number_id = setup.connection.phone_number_id.clone();
            form.waba_id = setup.connection.waba_id.clone();
        }
        Self {
            bot_id: bot_id.to_owned(),
            csrf: member.visitor.csrf.clone(),
            form,
            errors: FieldErrors::new(),
            reconnect: setup.is_some(),
        }
    }
}

/// "Waiting for Meta's first webhook…", polled, until it turns to "Connected".
#[derive(Template)]
#[template(path = "partials/cloud_status.html")]
struct CloudStatus {
    bot_id: String,
    verified: bool,
    display_phone_number: String,
}

/// The "Latest messages" panel, polled.
#[derive(Template)]
#[template(path = "partials/cloud_messages.html")]
struct LatestMessages {
    bot_id: String,
    messages: Vec<RecentMessage>,
}

/// A connected bot: its number at Meta, what to paste into Meta's dashboard, its status and
/// messages, and the form to reconnect with a new token.
#[derive(Template)]
#[template(path = "partials/cloud_connection.html")]
pub(super) struct CloudConnectionView {
    bot_id: String,
    setup: CloudSetup,
    webhook_url: String,
    /// The operator's one webhook, when this server runs its own Meta app.
    platform_url: Option<String>,
    status: CloudStatus,
    messages: LatestMessages,
    pub(super) form: CloudConnectForm,
}

/// A path on this site as an absolute URL (`APP_BASE_URL` + path).
fn absolute(member: &Member, path: &str) -> String {
    let base = member.visitor.state.config.app_base_url.as_str();
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The connection of one of the member's bots, when it has one (owners and admins).
pub(super) async fn connection_view(
    member: &Member,
    bot_id: &str,
) -> Result<Option<CloudConnectionView>, AppError> {
    let state = &member.visitor.state;
    let Some(setup) = cloud_setup::for_bot(state, &member.scope, bot_id).await? else {
        return Ok(None);
    };
    let messages = recent_messages::latest(state, &member.scope, bot_id, LATEST).await?;
    let connection = &setup.connection;
    Ok(Some(CloudConnectionView {
        bot_id: bot_id.to_owned(),
        webhook_url: absolute(member, &connection.webhook_path()),
        platform_url: state
            .config
            .meta_app
            .as_ref()
            .map(|_| absolute(member, "/webhooks/whatsapp")),
        status: CloudStatus {
            bot_id: bot_id.to_owned(),
            verified: connection.verified_at.is_some(),
            display_phone_number: connection.display_phone_number.clone(),
        },
        messages: LatestMessages {
            bot_id: bot_id.to_owned(),
            messages,
        },
        form: CloudConnectForm::new(member, bot_id, Some(&setup)),
        setup,
    }))
}

fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

/// `POST /bots/{id}/cloud`: check the four values with Meta, save them and show the
/// connection; a value to fix comes back in the form, with what was typed (422).
pub async fn connect(
    req: HttpRequest,
    member: Member,
    id: web::Path<String>,
    form: web::Form<ConnectForm>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let typed = form.into_inner();
    let connected = connect::connect(
        state,
        &state.bots,
        &member.scope,
        &id,
        &typed,
        &member.visitor.client,
    )
    .await;
    let pair_page = format!("/bots/{id}/pair");
    let errors = match connected {
        Ok(_) if is_htmx(&req) => {
            // A whole new page (the connection replaces the choice), not a fragment.
            return Ok(HttpResponse::Ok()
                .insert_header(("HX-Redirect", pair_page))
                .finish());
        }
        Ok(_) => return Ok(crate::web::error::redirect(&pair_page)),
        Err(e) => e,
    };
    let (status, errors) = form_errors(errors)?;
    let setup = cloud_setup::for_bot(state, &member.scope, &id).await?;
    let mut answer = CloudConnectForm::new(&member, &id, setup.as_ref());
    answer.form = typed;
    answer.errors = errors;
    if is_htmx(&req) {
        return render_with_status(status, &answer);
    }
    let page = super::bots::pair_page_with_form(&member, &id, answer).await?;
    render_with_status(status, &page)
}

/// `GET /bots/{id}/cloud/status`: "Waiting for Meta's first webhook…" or "Connected".
pub async fn status(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let connection = cloud_setup::connection_of(state, &member.scope, &id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    render(&CloudStatus {
        bot_id: id.into_inner(),
        verified: connection.verified_at.is_some(),
        display_phone_number: connection.display_phone_number,
    })
}

/// `GET /bots/{id}/cloud/messages`: the latest messages, oldest first.
pub async fn messages(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    // Like the rest of the pairing page: owners and admins.
    crate::bots::model::find_to_change(state, &member.scope, &id).await?;
    let messages = recent_messages::latest(state, &member.scope, &id, LATEST).await?;
    render(&LatestMessages {
        bot_id: id.into_inner(),
        messages,
    })
}
