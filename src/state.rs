//! What the edges (HTTP handlers, commands, background jobs) hold: the domain services'
//! `Context` and the bot supervisor. Domains never take this whole: a service asks for the
//! `Context`, and the bots domain for the supervisor, by name.

use std::ops::Deref;

use crate::bots::BotSupervisor;
use crate::context::Context;

/// Shared application state; cheap to clone (everything inside is a handle).
#[derive(Clone, Debug)]
pub struct AppState {
    pub context: Context,
    pub bots: BotSupervisor,
}

impl Deref for AppState {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.context
    }
}
