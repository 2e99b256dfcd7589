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
        suspended_at -> Nullable<Timestamp>,
        suspended_reason -> Nullable<Text>,
        plan_override -> Nullable<Text>,
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
        /// Paused because the plan allows fewer bots; resumed on upgrade.
        paused_for_plan -> Bool,
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
    /// A bot's WhatsApp Web session, one sealed item per row.
    whatsapp_store (bot_id, kind, item_key) {
        bot_id -> Text,
        tenant_id -> Text,
        kind -> Text,
        item_key -> Text,
        sealed -> Binary,
        stamp -> BigInt,
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
        /// The start of the closed period the away message was last sent for.
        away_sent_for -> Nullable<Timestamp>,
        /// Writing too fast: not answered until then.
        paused_until -> Nullable<Timestamp>,
        /// Meta's business-scoped user id (Cloud API), beside the number.
        user_id -> Nullable<Text>,
        /// When the contact asked for no broadcasts (STOP); cleared by START.
        opted_out_at -> Nullable<Timestamp>,
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
        /// `text`, `image`, `location`, `reaction`… (`MessageKind`).
        kind -> Text,
        /// The kind's fields as JSON.
        details -> Nullable<Text>,
        /// The WhatsApp id of the message this one replies to.
        reply_to -> Nullable<Text>,
        /// The customer's business-scoped user id, when Meta sent one.
        contact_user_id -> Nullable<Text>,
        /// Meta's error for a failed outbound message.
        error_code -> Nullable<BigInt>,
        error_title -> Nullable<Text>,
        /// The team member who wrote an outbound message (none: the bot).
        author_id -> Nullable<Text>,
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
        /// A message that is more than text, as JSON (`OutgoingContent`).
        content -> Nullable<Text>,
        /// The team member who wrote it (none: the bot).
        author_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// Bots on Meta's WhatsApp Cloud API: the number at Meta and its sealed secrets.
    cloud_connections (bot_id) {
        bot_id -> Text,
        tenant_id -> Text,
        phone_number_id -> Text,
        waba_id -> Text,
        access_token -> Binary,
        app_secret -> Binary,
        verify_token -> Binary,
        token_hint -> Text,
        webhook_key -> Text,
        verified_name -> Text,
        display_phone_number -> Text,
        quality_rating -> Nullable<Text>,
        verified_at -> Nullable<Timestamp>,
        send_after -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Meta's webhook bodies as received, until the bot's task has processed them.
    webhook_deliveries (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        body -> Binary,
        received_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Media customers sent, fetched after the message is stored.
    media (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        message_id -> Text,
        provider_media_id -> Text,
        mime_type -> Nullable<Text>,
        sha256 -> Nullable<Text>,
        filename -> Nullable<Text>,
        file_size -> Nullable<BigInt>,
        stored_path -> Nullable<Text>,
        status -> Text,
        error -> Nullable<Text>,
        attempts -> Integer,
        created_at -> Timestamp,
        stored_at -> Nullable<Timestamp>,
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
        /// When its bot was unpaired: the phone's chat is closed.
        unpaired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Messages per bot per UTC day, kept in the transaction that stores each message.
    message_rollups (bot_id, day) {
        tenant_id -> Text,
        bot_id -> Text,
        day -> Date,
        messages_in -> BigInt,
        messages_out -> BigInt,
        ai_replies -> BigInt,
    }
}

diesel::table! {
    /// Platform totals per UTC day, in a few shards to spread concurrent writes.
    platform_rollups (day, shard) {
        day -> Date,
        shard -> Integer,
        messages_in -> BigInt,
        messages_out -> BigInt,
        ai_replies -> BigInt,
    }
}

diesel::table! {
    /// Messages per tenant per month (first day of the month), and its last active day.
    tenant_rollups (tenant_id, month) {
        tenant_id -> Text,
        month -> Date,
        messages -> BigInt,
        last_day -> Date,
    }
}

diesel::table! {
    /// Commands used per bot per UTC day.
    command_rollups (bot_id, day, command) {
        tenant_id -> Text,
        bot_id -> Text,
        day -> Date,
        command -> Text,
        uses -> BigInt,
    }
}

diesel::table! {
    /// Reply times per bot per UTC day, as histogram buckets (`bucket_ms`: upper bound).
    reply_time_rollups (bot_id, day, bucket_ms) {
        tenant_id -> Text,
        bot_id -> Text,
        day -> Date,
        bucket_ms -> BigInt,
        replies -> BigInt,
    }
}

diesel::table! {
    /// Failures operators should see: bot crashes, rejected webhooks.
    platform_errors (id) {
        id -> Text,
        kind -> Text,
        tenant_id -> Nullable<Text>,
        subject -> Nullable<Text>,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Each workspace's subscription: the latest state Stripe (or the trial) gave it.
    subscriptions (tenant_id) {
        tenant_id -> Text,
        plan_id -> Text,
        status -> Text,
        stripe_customer_id -> Nullable<Text>,
        stripe_subscription_id -> Nullable<Text>,
        current_period_end -> Nullable<Timestamp>,
        trial_ends_at -> Nullable<Timestamp>,
        grace_ends_at -> Nullable<Timestamp>,
        state_at -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Usage per workspace, metric and period.
    usage_counters (tenant_id, metric, period) {
        tenant_id -> Text,
        metric -> Text,
        period -> Text,
        used -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Stripe events already handled.
    stripe_events (id) {
        id -> Text,
        event_type -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// Which instance runs a singleton background job (when Redis does not hold the lease).
    job_leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// The bot template catalogue the binary ships (upserted by `seed`).
    bot_templates (id) {
        id -> Text,
        name -> Text,
        category -> Text,
        position -> Integer,
        premium -> Bool,
        definition -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Each bot's own settings: a copy of a template, edited by its workspace (JSON).
    bot_configs (bot_id) {
        bot_id -> Text,
        tenant_id -> Text,
        template_id -> Nullable<Text>,
        config -> Text,
        paused -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Where each contact is in a multi-step flow.
    conversations (bot_id, contact_number) {
        bot_id -> Text,
        contact_number -> Text,
        tenant_id -> Text,
        flow -> Text,
        step -> Text,
        answers -> Text,
        updated_at -> Timestamp,
        /// Answers in a row the current step did not understand.
        misses -> Integer,
    }
}

diesel::table! {
    /// Numbers a bot's owner blocked.
    blocked_numbers (bot_id, number) {
        bot_id -> Text,
        number -> Text,
        tenant_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Notes the owner keeps through the bot.
    bot_notes (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The inbox's conversation with one contact: status, who holds and who is assigned it.
    threads (id) {
        id -> Text,
        tenant_id -> Text,
        bot_id -> Text,
        contact_id -> Text,
        /// `open`, `waiting` (for the team) or `closed` (`ThreadStatus`).
        status -> Text,
        assignee_id -> Nullable<Text>,
        /// The member who took the conversation over; the bot is silent until `held_until`.
        held_by -> Nullable<Text>,
        held_until -> Nullable<Timestamp>,
        /// Inbound messages since the team last looked.
        unread -> Integer,
        last_message_at -> Timestamp,
        last_preview -> Text,
        last_direction -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Tags the team put on a contact.
    contact_tags (contact_id, tag) {
        contact_id -> Text,
        tag -> Text,
        tenant_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Notes the team keeps about a contact.
    contact_notes (id) {
        id -> Text,
        tenant_id -> Text,
        contact_id -> Text,
        author_id -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// What changed, in order, for the live pages (resumed by sequence number).
    live_events (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        thread_id -> Text,
        kind -> Text,
        ref_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// How far a workspace got in the onboarding wizard.
    onboarding (tenant_id) {
        tenant_id -> Text,
        step -> Text,
        bot_id -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(bots -> tenants (tenant_id));
diesel::joinable!(message_rollups -> tenants (tenant_id));
diesel::joinable!(subscriptions -> plans (plan_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(sandbox_phones -> bots (bot_id));
diesel::joinable!(threads -> contacts (contact_id));
diesel::joinable!(threads -> bots (bot_id));
diesel::joinable!(contact_tags -> contacts (contact_id));
diesel::joinable!(contact_notes -> contacts (contact_id));
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
    cloud_connections,
    webhook_deliveries,
    media,
    sandbox_phones,
    whatsapp_store,
    message_rollups,
    platform_rollups,
    tenant_rollups,
    command_rollups,
    reply_time_rollups,
    platform_errors,
    subscriptions,
    usage_counters,
    stripe_events,
    job_leases,
    bot_templates,
    bot_configs,
    conversations,
    blocked_numbers,
    bot_notes,
    onboarding,
    threads,
    contact_tags,
    contact_notes,
    live_events,
);
