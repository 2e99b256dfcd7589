//! The sandbox phone: pair by opening the QR link, then chat with the bot. Reached by the
//! unguessable tokens in its links, without an account, like a real phone.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{form_errors, render_with_status};
use crate::bots::sandbox_phones::{self, Bubble, PhoneLink};
use crate::validation::FieldErrors;
use crate::web::auth::Visitor;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Debug, Default, Deserialize)]
pub struct PairForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    number: String,
}

#[derive(Template)]
#[template(path = "pages/sandbox_pair.html")]
struct PairPage {
    layout: Layout,
    token: String,
    bot_name: String,
    form: PairForm,
    errors: FieldErrors,
}

/// `GET /sandbox/pair/{token}`: who is this phone?
pub async fn pair_form(
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let bot = sandbox_phones::bot_for_pairing(&visitor.state, &token).await?;
    render(&PairPage {
        layout: visitor.layout("Sandbox phone"),
        token: token.into_inner(),
        bot_name: bot.name,
        form: PairForm::default(),
        errors: FieldErrors::new(),
    })
}

/// `POST /sandbox/pair/{token}`: pair and open the chat.
pub async fn pair(
    visitor: Visitor,
    token: web::Path<String>,
    form: web::Form<PairForm>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    match sandbox_phones::pair(
        &visitor.state,
        &visitor.state.bots,
        &token,
        &form.name,
        &form.number,
    )
    .await
    {
        Ok(phone) => Ok(crate::web::error::redirect(&format!(
            "/sandbox/phone/{phone}"
        ))),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let bot = sandbox_phones::bot_for_pairing(&visitor.state, &token).await?;
            let page = PairPage {
                layout: visitor.layout("Sandbox phone"),
                token,
                bot_name: bot.name,
                form: form.into_inner(),
                errors,
            };
            render_with_status(status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "partials/sandbox_chat.html")]
struct Chat {
    token: String,
    csrf: String,
    bubbles: Vec<Bubble>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/sandbox_phone.html")]
struct PhonePage {
    layout: Layout,
    bot_name: String,
    me: String,
    chat: Chat,
}

/// What an unpaired bot's phone shows instead of its chat.
#[derive(Template)]
#[template(path = "pages/sandbox_unpaired.html")]
struct UnpairedPage {
    layout: Layout,
    bot_id: String,
    bot_name: String,
}

/// The phone's bot was unpaired: a page that says so (410: this link is done for good), or,
/// to htmx polling or sending from the open chat, a refresh that brings that page.
fn unpaired(
    req: &HttpRequest,
    visitor: &Visitor,
    bot_id: &str,
    bot_name: String,
) -> Result<HttpResponse, AppError> {
    if req.headers().contains_key("hx-request") {
        return Ok(HttpResponse::Ok()
            .insert_header(("HX-Refresh", "true"))
            .insert_header((header::VARY, "HX-Request"))
            .finish());
    }
    let page = UnpairedPage {
        layout: visitor.layout(&format!("{bot_name} was unpaired")),
        bot_id: bot_id.to_owned(),
        bot_name,
    };
    let mut response = render_with_status(StatusCode::GONE, &page)?;
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("HX-Request"));
    Ok(response)
}

/// `GET /sandbox/phone/{token}`: the chat screen.
pub async fn phone(
    req: HttpRequest,
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let phone = match sandbox_phones::open(&visitor.state, &token).await? {
        PhoneLink::Live(phone) => phone,
        PhoneLink::Unpaired { bot_id, bot_name } => {
            return unpaired(&req, &visitor, &bot_id, bot_name);
        }
    };
    let bubbles = sandbox_phones::conversation(&visitor.state, &phone).await?;
    render(&PhonePage {
        layout: visitor.layout(&format!("Chat with {}", phone.bot.name)),
        bot_name: phone.bot.name.clone(),
        me: format!("{} (+{})", phone.name, phone.number),
        chat: Chat {
            token: token.into_inner(),
            csrf: visitor.csrf.clone(),
            bubbles,
            error: None,
        },
    })
}

#[derive(Template)]
#[template(path = "partials/sandbox_bubbles.html")]
struct Bubbles {
    token: String,
    bubbles: Vec<Bubble>,
}

/// `GET /sandbox/phone/{token}/chat`: the conversation alone, polled (the message being
/// typed is left alone).
pub async fn chat(
    req: HttpRequest,
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let phone = match sandbox_phones::open(&visitor.state, &token).await? {
        PhoneLink::Live(phone) => phone,
        PhoneLink::Unpaired { bot_id, bot_name } => {
            return unpaired(&req, &visitor, &bot_id, bot_name);
        }
    };
    let bubbles = sandbox_phones::conversation(&visitor.state, &phone).await?;
    render(&Bubbles {
        token: token.into_inner(),
        bubbles,
    })
}

#[derive(Debug, Deserialize)]
pub struct SendForm {
    #[serde(default)]
    text: String,
}

/// `POST /sandbox/phone/{token}/send`: the phone sends a message; answers the refreshed chat.
pub async fn send(
    req: HttpRequest,
    visitor: Visitor,
    token: web::Path<String>,
    form: web::Form<SendForm>,
) -> Result<HttpResponse, AppError> {
    let phone = match sandbox_phones::open(&visitor.state, &token).await? {
        PhoneLink::Live(phone) => phone,
        PhoneLink::Unpaired { bot_id, bot_name } => {
            return unpaired(&req, &visitor, &bot_id, bot_name);
        }
    };
    let error = match sandbox_phones::send(&visitor.state.bots, &phone, &form.text).await {
        Ok(()) => None,
        Err(e) => form_errors(e)?.1.get("text").map(str::to_owned),
    };
    let bubbles = sandbox_phones::conversation(&visitor.state, &phone).await?;
    render(&Chat {
        token: token.into_inner(),
        csrf: visitor.csrf.clone(),
        bubbles,
        error,
    })
}
