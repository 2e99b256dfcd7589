//! Per-contact conversation state in the database, so a flow half-way through survives a
//! restart (and a move to another instance).

use chrono::Utc;
use diesel::prelude::*;

use super::router::flow::{Answer, FlowState};
use crate::db::DbConn;
use crate::db::schema::conversations;

/// Where `number` is in a flow with `bot_id`, if anywhere.
pub fn load_in(conn: &mut DbConn, bot_id: &str, number: &str) -> QueryResult<Option<FlowState>> {
    let row: Option<(String, String, String, i32)> = conversations::table
        .find((bot_id, number))
        .select((
            conversations::flow,
            conversations::step,
            conversations::answers,
            conversations::misses,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(flow, step, answers, misses)| FlowState {
        flow,
        step,
        answers: serde_json::from_str::<Vec<Answer>>(&answers).unwrap_or_default(),
        misses: u32::try_from(misses).unwrap_or(0),
    }))
}

/// Remember where `number` is.
pub fn save_in(
    conn: &mut DbConn,
    tenant_id: &str,
    bot_id: &str,
    number: &str,
    state: &FlowState,
) -> QueryResult<()> {
    let answers = serde_json::to_string(&state.answers).unwrap_or_else(|_| "[]".into());
    let misses = i32::try_from(state.misses).unwrap_or(i32::MAX);
    let now = Utc::now().naive_utc();
    let upsert = diesel::insert_into(conversations::table)
        .values((
            conversations::bot_id.eq(bot_id),
            conversations::contact_number.eq(number),
            conversations::tenant_id.eq(tenant_id),
            conversations::flow.eq(&state.flow),
            conversations::step.eq(&state.step),
            conversations::answers.eq(&answers),
            conversations::updated_at.eq(now),
            conversations::misses.eq(misses),
        ))
        .on_conflict((conversations::bot_id, conversations::contact_number))
        .do_update()
        .set((
            conversations::flow.eq(&state.flow),
            conversations::step.eq(&state.step),
            conversations::answers.eq(&answers),
            conversations::updated_at.eq(now),
            conversations::misses.eq(misses),
        ));
    crate::on_backend!(conn, c => upsert.execute(c)).map(drop)
}

/// Forget the flow `number` was in.
pub fn clear_in(conn: &mut DbConn, bot_id: &str, number: &str) -> QueryResult<()> {
    diesel::delete(conversations::table.find((bot_id, number)))
        .execute(conn)
        .map(drop)
}
