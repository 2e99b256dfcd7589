//! The schema, kept by hand so that it matches both migration trees.

diesel::table! {
    /// The plan catalogue.
    plans (id) {
        id -> Text,
        name -> Text,
        position -> Integer,
        monthly_price_cents -> Integer,
        max_bots -> Nullable<Integer>,
        max_messages_per_month -> Nullable<Integer>,
        max_ai_replies_per_day -> Nullable<Integer>,
        max_broadcast_recipients_per_month -> Nullable<Integer>,
        max_members -> Nullable<Integer>,
        features -> Text,
        updated_at -> Timestamp,
    }
}
