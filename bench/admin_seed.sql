-- Seed for bench/admin_dashboard.sh: :tenants tenants (2 bots each) and :messages messages
-- over the last 90 days, skewed so that a few tenants are busy and most are quiet, then the
-- daily roll-ups as the pipeline would have kept them. Run as the database owner (psql -v).
-- Deterministic: the same parameters give the same data.
SELECT setseed(0.42);
-- Bulk load: the data is consistent by construction, so skip per-row foreign-key triggers.
SET session_replication_role = replica;

INSERT INTO tenants (id, name, created_at, updated_at, plan_override, suspended_at, suspended_reason)
SELECT 'bench-t' || g,
       'Bench tenant ' || g,
       now()::timestamp - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute',
       now()::timestamp,
       CASE WHEN g % 25 = 0 THEN 'business' WHEN g % 10 = 0 THEN 'pro' WHEN g % 5 = 0 THEN 'starter' END,
       CASE WHEN g % 100 = 0 THEN now()::timestamp END,
       CASE WHEN g % 100 = 0 THEN 'bench' END
FROM generate_series(1, :tenants) g;

INSERT INTO bots (id, tenant_id, name, transport, status, owner_number, created_at, updated_at)
SELECT 'bench-b' || g || '-' || k, 'bench-t' || g, 'Bot ' || k, 'sandbox',
       (ARRAY['connected','connected','connected','reconnecting','error','logged_out','unpaired','pairing'])[1 + (g * 2 + k) % 8],
       '4477009' || g, now()::timestamp, now()::timestamp
FROM generate_series(1, :tenants) g, generate_series(1, 2) k;

-- Tenant t = 1 + floor(T * r^3): tenant 1 is the busiest, the tail is quiet.
INSERT INTO messages (id, tenant_id, bot_id, direction, wa_message_id, contact_number, body, status, created_at)
SELECT 'bench-m' || i,
       'bench-t' || t,
       'bench-b' || t || '-' || (1 + i % 2),
       CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END,
       'wamid.' || i,
       '3519' || (i % 5000),
       'hello ' || i,
       CASE WHEN i % 2 = 0 THEN 'received' ELSE 'sent' END,
       now()::timestamp - random() * interval '90 days'
FROM (SELECT i, 1 + floor(:tenants * power(random(), 3))::int AS t
      FROM generate_series(1, :messages) i) s;

SET session_replication_role = origin;

INSERT INTO message_rollups (tenant_id, bot_id, day, messages_in, messages_out, ai_replies)
SELECT tenant_id, bot_id, created_at::date,
       count(*) FILTER (WHERE direction = 'in'),
       count(*) FILTER (WHERE direction = 'out'),
       0
FROM messages GROUP BY tenant_id, bot_id, created_at::date;

INSERT INTO platform_rollups (day, shard, messages_in, messages_out, ai_replies)
SELECT day, 0, sum(messages_in), sum(messages_out), sum(ai_replies)
FROM message_rollups GROUP BY day;

INSERT INTO tenant_rollups (tenant_id, month, messages, last_day)
SELECT tenant_id, date_trunc('month', day)::date, sum(messages_in + messages_out), max(day)
FROM message_rollups GROUP BY tenant_id, date_trunc('month', day)::date;

ANALYZE;
