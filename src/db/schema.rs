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

diesel::table! {
    /// People who can sign in.
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        email_verified_at -> Nullable<Timestamp>,
        is_platform_admin -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Workspaces: the tenants.
    tenants (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Who belongs to which workspace, with which role.
    memberships (tenant_id, user_id) {
        tenant_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Signed-in browsers; `id` is the SHA-256 of the cookie token.
    sessions (id) {
        id -> Text,
        user_id -> Text,
        tenant_id -> Nullable<Text>,
        remember -> Bool,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    /// Single-use emailed links; `id` is the SHA-256 of the token.
    email_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Invitations to join a workspace.
    invitations (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Security-relevant events, shown to workspace owners.
    audit_events (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        actor_email -> Nullable<Text>,
        action -> Text,
        detail -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// WhatsApp bots, one per paired number.
    bots (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        transport -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        owner_number -> Nullable<Text>,
        paired_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        running_on -> Nullable<Text>,
    }
}

diesel::table! {
    /// Which instance runs a bot (when Redis does not hold the lease).
    bot_leases (bot_id) {
        bot_id -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// The people a bot has talked with.
    contacts (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        number -> Text,
        name -> Nullable<Text>,
        first_seen_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    /// Every message in and out.
    messages (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        direction -> Text,
        wa_message_id -> Text,
        contact_number -> Text,
        body -> Text,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Replies decided but not yet confirmed sent.
    outbox (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        to_number -> Text,
        body -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Simulated phones of the sandbox transport.
    sandbox_phones (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        number -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(bots -> tenants (tenant_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(
    plans,
    users,
    tenants,
    memberships,
    sessions,
    email_tokens,
    invitations,
    audit_events,
    bots,
    bot_leases,
    contacts,
    messages,
    outbox,
    sandbox_phones,
);
