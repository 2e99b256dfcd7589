//! The one way a destructive action asks first. Its button is a link to a `GET` of the
//! action's own path, which answers a confirmation: a page of its own without JavaScript, or
//! (asked by htmx) the same question as a `<dialog>` over the current page. Either posts to
//! the action's path; the `POST` does it.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::web::AppError;
use crate::web::layout::Layout;

/// What is about to happen, and the way back.
#[derive(Debug, Clone)]
pub struct Question {
    /// "Delete Bakery bot?"
    pub title: String,
    /// What the action does that cannot be undone.
    pub consequence: String,
    /// Where the confirming form posts (the action's own path); empty when there is
    /// nothing left to do (see [`nothing_left`]).
    pub action: String,
    /// The confirming button's words ("Delete bot").
    pub button: &'static str,
    /// Where "Cancel" leads on the page of its own.
    pub cancel: String,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "pages/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    q: Question,
}

#[derive(Template)]
#[template(path = "partials/confirm_dialog.html")]
struct ConfirmDialog {
    q: Question,
}

/// The question as a page, or as a dialog for htmx (which swaps it into the page it has).
pub fn ask(req: &HttpRequest, layout: Layout, q: Question) -> Result<HttpResponse, AppError> {
    let html = if req.headers().contains_key("hx-request") {
        ConfirmDialog { q }.render()
    } else {
        ConfirmPage { layout, q }.render()
    }
    .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "HX-Request"))
        .body(html))
}

/// Instead of the question, when what it would ask about is already gone or done (a page
/// left open while someone else acted): says so, with the way back.
pub fn nothing_left(
    req: &HttpRequest,
    layout: Layout,
    title: String,
    consequence: String,
    back: String,
) -> Result<HttpResponse, AppError> {
    ask(
        req,
        layout,
        Question {
            title,
            consequence,
            action: String::new(),
            button: "",
            cancel: back,
            csrf: String::new(),
        },
    )
}
