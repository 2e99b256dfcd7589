//! Tenant isolation: every route that takes an id, tried with another workspace's ids, answers
//! 404 and changes nothing. On PostgreSQL, row-level security is shown to be a second wall.

use actix_web::http::StatusCode;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use whatsdex::db::schema::{
    bots, contact_notes, contact_tags, contacts, invitations, memberships, tenants, users,
};

use crate::common::browser::Browser;
use crate::common::{self, PASSWORD, Site};

async fn id_of(site: &Site, email: &'static str) -> String {
    site.query(move |c| {
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(c)
    })
    .await
}

async fn tenant_named(site: &Site, name: &'static str) -> String {
    site.query(move |c| {
        tenants::table
            .filter(tenants::name.eq(name))
            .select(tenants::id)
            .first(c)
    })
    .await
}

/// Everything the foreign requests could change.
async fn snapshot(site: &Site) -> Vec<String> {
    site.query(|c| {
        let mut rows: Vec<String> = memberships::table
            .select((
                memberships::tenant_id,
                memberships::user_id,
                memberships::role,
            ))
            .load::<(String, String, String)>(c)?
            .into_iter()
            .map(|r| format!("{r:?}"))
            .collect();
        rows.extend(
            invitations::table
                .select((
                    invitations::id,
                    invitations::tenant_id,
                    invitations::revoked_at.is_null(),
                ))
                .load::<(String, String, bool)>(c)?
                .into_iter()
                .map(|r| format!("{r:?}")),
        );
        rows.extend(tenants::table.select(tenants::name).load::<String>(c)?);
        rows.extend(
            contacts::table
                .select((contacts::id, contacts::opted_out_at.is_null()))
                .load::<(String, bool)>(c)?
                .into_iter()
                .map(|r| format!("{r:?}")),
        );
        rows.extend(
            contact_tags::table
                .select((contact_tags::contact_id, contact_tags::tag))
                .load::<(String, String)>(c)?
                .into_iter()
                .map(|r| format!("{r:?}")),
        );
        rows.extend(
            contact_notes::table
                .select(contact_notes::id)
                .load::<String>(c)?,
        );
        rows.sort();
        Ok(rows)
    })
    .await
}

#[actix_web::test]
async fn foreign_ids_are_404_and_change_nothing() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    let mut bob = Browser::new(app.clone());
    let mut cat = Browser::new(app.clone());
    for (browser, name, email, workspace) in [
        (&mut ana, "Ana", "ana@example.com", "Workspace A"),
        (&mut bob, "Bob", "bob@example.com", "Workspace B"),
    ] {
        browser
            .post(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", PASSWORD),
                    ("workspace_name", workspace),
                ],
            )
            .await;
    }
    // B has a member (Cat) and a pending invitation.
    common::invite_and_join(&site, &mut bob, &mut cat, "Cat", "cat@example.com").await;
    bob.post(
        "/workspace/members/invite",
        &[("email", "dan@example.com"), ("role", "member")],
    )
    .await;

    let bob_id = id_of(&site, "bob@example.com").await;
    let cat_id = id_of(&site, "cat@example.com").await;
    let workspace_b = tenant_named(&site, "Workspace B").await;
    let invitation_b: String = site
        .query(|c| {
            invitations::table
                .filter(invitations::email.eq("dan@example.com"))
                .select(invitations::id)
                .first(c)
        })
        .await;

    // B has a bot with a contact, tagged.
    let contact_b = "contact-of-b".to_owned();
    {
        let (tenant, contact) = (workspace_b.clone(), contact_b.clone());
        site.query(move |c| {
            let now = chrono::Utc::now().naive_utc();
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq("bot-of-b"),
                    bots::tenant_id.eq(&tenant),
                    bots::name.eq("B's bot"),
                    bots::transport.eq("sandbox"),
                    bots::status.eq("unpaired"),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(c)?;
            diesel::insert_into(contacts::table)
                .values((
                    contacts::id.eq(&contact),
                    contacts::tenant_id.eq(&tenant),
                    contacts::bot_id.eq("bot-of-b"),
                    contacts::number.eq("4915112345678"),
                    contacts::name.eq(Some("Bertha")),
                    contacts::first_seen_at.eq(now),
                    contacts::last_seen_at.eq(now),
                ))
                .execute(c)?;
            diesel::insert_into(contact_tags::table)
                .values((
                    contact_tags::contact_id.eq(&contact),
                    contact_tags::tag.eq("vip"),
                    contact_tags::tenant_id.eq(&tenant),
                    contact_tags::created_at.eq(now),
                ))
                .execute(c)
        })
        .await;
    }

    let before = snapshot(&site).await;
    // (what, path, form fields)
    type Attempt<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Attempt> = vec![
        (
            "change a foreign member's role",
            format!("/workspace/members/{cat_id}/role"),
            vec![("role", "admin")],
        ),
        (
            "remove a foreign member",
            format!("/workspace/members/{cat_id}/remove"),
            vec![],
        ),
        (
            "remove a foreign owner",
            format!("/workspace/members/{bob_id}/remove"),
            vec![],
        ),
        (
            "hand ownership to a foreign member",
            format!("/workspace/members/{cat_id}/transfer"),
            vec![],
        ),
        (
            "withdraw a foreign invitation",
            format!("/workspace/invitations/{invitation_b}/revoke"),
            vec![],
        ),
        (
            "tag a foreign contact",
            format!("/contacts/{contact_b}/tags"),
            vec![("tag", "mine")],
        ),
        (
            "untag a foreign contact",
            format!("/contacts/{contact_b}/tags/remove"),
            vec![("tag", "vip")],
        ),
        (
            "note on a foreign contact",
            format!("/contacts/{contact_b}/notes"),
            vec![("body", "seen")],
        ),
        (
            "opt a foreign contact out",
            format!("/contacts/{contact_b}/opt-out"),
            vec![("opted_out", "1")],
        ),
        (
            "delete a foreign contact",
            format!("/contacts/{contact_b}/delete"),
            vec![],
        ),
        (
            "switch into a foreign workspace",
            "/workspaces/switch".to_owned(),
            vec![("tenant_id", workspace_b.as_str())],
        ),
    ];
    for (what, path, fields) in &cases {
        let page = ana.post(path, fields).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{what}: {path}");
        assert!(
            page.body.contains("Page not found"),
            "{what}: same page as a missing id"
        );
    }
    for path in [
        format!("/contacts/{contact_b}"),
        format!("/contacts/{contact_b}/delete"),
    ] {
        let page = ana.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("Page not found"), "{path}");
    }
    assert_eq!(
        snapshot(&site).await,
        before,
        "foreign requests changed nothing"
    );
    let contacts_a = ana.get("/contacts?q=bertha").await;
    assert!(!contacts_a.body.contains("Bertha") && !contacts_a.body.contains(&contact_b));
    let tags_a = ana.get("/contacts?tag=vip").await;
    assert!(!tags_a.body.contains("Bertha"), "B's tags are not A's");
    let export_a = ana.get("/contacts/export.csv").await;
    assert_eq!(export_a.status, StatusCode::OK);
    assert!(
        !export_a.body.contains("4915112345678"),
        "{}",
        export_a.body
    );
    // B's owner sees the contact, so the id was real.
    assert_eq!(
        bob.get(&format!("/contacts/{contact_b}")).await.status,
        StatusCode::OK
    );

    let dashboard = ana.get("/dashboard").await;
    assert!(dashboard.body.contains("<h1>Workspace A</h1>"));
    assert!(!dashboard.body.contains("Cat"), "nothing of B shows in A");
    let members = ana.get("/workspace/members").await;
    assert!(!members.body.contains("cat@example.com") && !members.body.contains("dan@example.com"));

    // The same requests from B's owner work, so the ids were real.
    assert_eq!(
        bob.post(&cases[4].1, &[]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn row_level_security_hides_tenant_rows_from_unscoped_queries() {
    if !common::on_postgres() {
        eprintln!("skipped: row-level security is a PostgreSQL feature");
        return;
    }
    let site = Site::start();
    let app = site.app().await;
    for (name, email, workspace) in [
        ("Ana", "ana@example.com", "Workspace A"),
        ("Bob", "bob@example.com", "Workspace B"),
    ] {
        Browser::new(app.clone())
            .post(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", PASSWORD),
                    ("workspace_name", workspace),
                ],
            )
            .await;
    }
    let workspace_a = tenant_named(&site, "Workspace A").await;

    let mut app_role = PgConnection::establish(&site.db.app_url).unwrap();
    let count = |conn: &mut PgConnection, table: &str| -> i64 {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "(SELECT count(*) FROM {table})"
        )))
        .get_result(conn)
        .unwrap()
    };
    for table in ["tenants", "memberships", "audit_events"] {
        assert_eq!(count(&mut app_role, table), 0, "{table} without a scope");
    }
    assert_eq!(
        count(&mut app_role, "users"),
        2,
        "users are not tenant rows"
    );

    app_role
        .transaction::<_, diesel::result::Error, _>(|conn| {
            conn.batch_execute(&format!("SELECT set_config('app.tenant_id', '{workspace_a}', true)"))?;
            assert_eq!(count(conn, "tenants"), 1);
            assert_eq!(count(conn, "memberships"), 1);
            let wrong_insert = conn.batch_execute(
                "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('x', 'Sneaky', now(), now())",
            );
            assert!(wrong_insert.is_err(), "cannot write another tenant's row");
            Ok(())
        })
        .ok();
    assert_eq!(
        count(&mut app_role, "tenants"),
        0,
        "the setting ended with its transaction"
    );
}
