//! Accounts through the real app: sign-up, sign-in, sessions, CSRF, throttling, emailed links,
//! invitations and roles, settings, deletion. Runs on SQLite and on PostgreSQL + Redis.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use whatsdex::db::schema::{audit_events, memberships, sessions, tenants, users};

use crate::common::browser::Browser;
use crate::common::{PASSWORD, Site};

macro_rules! sign_up {
    ($browser:expr, $name:expr, $email:expr, $workspace:expr) => {
        $browser
            .post(
                "/signup",
                &[
                    ("name", $name),
                    ("email", $email),
                    ("password", PASSWORD),
                    ("workspace_name", $workspace),
                ],
            )
            .await
    };
}

macro_rules! sign_in {
    ($browser:expr, $email:expr, $password:expr) => {
        $browser
            .post("/login", &[("email", $email), ("password", $password)])
            .await
    };
}

async fn count_users(site: &Site) -> i64 {
    site.query(|c| users::table.count().get_result(c)).await
}

#[actix_web::test]
async fn sign_up_creates_account_workspace_and_ownership_and_signs_in() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    let page = sign_up!(ana, "Ana Lima", "Ana@Example.com", "Lima Bakery");
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/onboarding/plan?notice=welcome");
    let session_cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("wdx_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !session_cookie.contains("Secure"),
        "plain http: {session_cookie}"
    );
    assert!(
        !session_cookie.contains("Max-Age"),
        "not remembered: {session_cookie}"
    );

    let dashboard = ana.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("Lima Bakery"));
    assert!(
        dashboard.body.contains("confirm your email"),
        "unverified banner"
    );

    let (email, role, hash): (String, String, String) = site
        .query(|c| {
            users::table
                .inner_join(memberships::table)
                .select((users::email, memberships::role, users::password_hash))
                .first(c)
        })
        .await;
    assert_eq!(email, "ana@example.com");
    assert_eq!(role, "owner");
    assert!(hash.starts_with("$argon2id$"));
    site.smtp
        .wait_for("ana@example.com", "/verify-email/")
        .await;
}

#[actix_web::test]
async fn bad_sign_up_input_is_shown_next_to_fields_and_creates_nothing() {
    let site = Site::start();
    let mut browser = Browser::new(site.app().await);
    let page = browser
        .post(
            "/signup",
            &[
                ("name", "Bo"),
                ("email", "bo-at-example"),
                ("password", "password1"),
                ("workspace_name", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("Enter a valid email address"),
        "{}",
        page.body
    );
    assert!(page.body.contains("at least 10 characters"));
    assert!(page.body.contains("Enter a workspace name"));
    assert!(
        page.body.contains(r#"value="bo-at-example""#),
        "typed email kept"
    );
    assert!(page.body.contains(r#"value="Bo""#), "typed name kept");
    assert!(
        !page.body.contains("password1"),
        "a password is never echoed"
    );

    let weak = browser
        .post(
            "/signup",
            &[
                ("name", "Bo"),
                ("email", "bo@example.com"),
                ("password", "password123"),
                ("workspace_name", "Bo's"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.body.contains("Choose a stronger password"),
        "{}",
        weak.body
    );
    assert_eq!(count_users(&site).await, 0);
}

#[actix_web::test]
async fn an_email_can_sign_up_once() {
    let site = Site::start();
    let app = site.app().await;
    sign_up!(Browser::new(app.clone()), "Ana", "ana@example.com", "Ana's");
    let page = sign_up!(
        Browser::new(app.clone()),
        "Other Ana",
        "ANA@example.com",
        "Another"
    );
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("already exists"));
    assert_eq!(count_users(&site).await, 1);
    let workspaces: i64 = site.query(|c| tenants::table.count().get_result(c)).await;
    assert_eq!(workspaces, 1);
}

#[actix_web::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let site = Site::start();
    let mut browser = Browser::new(site.app().await);
    browser.get("/signup").await;
    let fields = [
        ("name", "Eve"),
        ("email", "eve@example.com"),
        ("password", PASSWORD),
        ("workspace_name", "Eve Co"),
    ];
    let page = browser.post_raw("/signup", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("This form has expired"));
    let mut forged = fields.to_vec();
    forged.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        browser.post_raw("/signup", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count_users(&site).await, 0);
}

#[actix_web::test]
async fn wrong_credentials_get_one_message_and_keep_the_email() {
    let site = Site::start();
    let app = site.app().await;
    sign_up!(Browser::new(app.clone()), "Ana", "ana@example.com", "Ana's");
    let mut browser = Browser::new(app.clone());
    let wrong_password = sign_in!(browser, "ana@example.com", "not the password at all");
    let unknown_email = sign_in!(browser, "nobody@example.com", PASSWORD);
    for page in [&wrong_password, &unknown_email] {
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("do not match an account"));
    }
    assert!(wrong_password.body.contains(r#"value="ana@example.com""#));
    assert!(!browser.cookies.contains_key("wdx_session"));

    let page = sign_in!(browser, "ana@example.com", PASSWORD);
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let site = Site::start();
    let app = site.app().await;
    sign_up!(Browser::new(app.clone()), "Ana", "ana@example.com", "Ana's");
    let mut attacker = Browser::new(app.clone());
    for _ in 0..5 {
        let page = sign_in!(attacker, "ana@example.com", "guess guess guess");
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = sign_in!(attacker, "ana@example.com", PASSWORD);
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked
            .body
            .contains("Too many attempts. Try again in 15 minutes"),
        "{}",
        locked.body
    );
    assert!(!attacker.cookies.contains_key("wdx_session"));
    let failures: i64 = site
        .query(|c| {
            audit_events::table
                .filter(audit_events::action.eq("sign_in_failed"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(failures, 5);
}

#[actix_web::test]
async fn sessions_survive_a_restart_and_rotate_at_sign_in() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Ana's");
    let first = ana.cookies["wdx_session"].clone();
    let page = ana
        .post(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("remember", "on"),
            ],
        )
        .await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("wdx_session="))
        .unwrap();
    assert!(
        cookie.contains("Max-Age=2592000"),
        "remembered for 30 days: {cookie}"
    );
    let second = ana.cookies["wdx_session"].clone();
    assert_ne!(first, second, "a sign-in issues a new session id");

    // A new process: new state, new in-process cache, same database.
    let restarted = whatsdex::server::prepare(site.state.config.as_ref().clone(), false).unwrap();
    let app2 = std::rc::Rc::new(actix_web::test::init_service(whatsdex::web::app(restarted)).await);
    let mut same_browser = Browser::new(app2);
    same_browser.cookies = ana.cookies.clone();
    assert_eq!(same_browser.get("/dashboard").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn idle_sessions_end() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Ana's");
    let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::hours(3);
    site.query(move |c| {
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(long_ago))
            .execute(c)
    })
    .await;
    // A fresh process (no cached session) sees the idle session and ends it.
    let restarted = whatsdex::server::prepare(site.state.config.as_ref().clone(), false).unwrap();
    let mut browser = Browser::new(std::rc::Rc::new(
        actix_web::test::init_service(whatsdex::web::app(restarted)).await,
    ));
    browser.cookies = ana.cookies.clone();
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Fdashboard");
    let left: i64 = site.query(|c| sessions::table.count().get_result(c)).await;
    assert_eq!(left, 0);
}

#[actix_web::test]
async fn sign_out_and_sign_out_everywhere() {
    let site = Site::start();
    let app = site.app().await;
    let mut laptop = Browser::new(app.clone());
    sign_up!(laptop, "Ana", "ana@example.com", "Ana's");
    let mut phone = Browser::new(app.clone());
    sign_in!(phone, "ana@example.com", PASSWORD);
    let mut tablet = Browser::new(app.clone());
    sign_in!(tablet, "ana@example.com", PASSWORD);

    let out = tablet.post("/logout", &[]).await;
    assert_eq!(out.location(), "/login?notice=signed_out");
    assert_eq!(tablet.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        phone.get("/dashboard").await.status,
        StatusCode::OK,
        "other sessions live on"
    );

    laptop.post("/account/sign-out-everywhere", &[]).await;
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn password_reset_by_emailed_single_use_link() {
    let site = Site::start();
    let app = site.app().await;
    sign_up!(Browser::new(app.clone()), "Ana", "ana@example.com", "Ana's");
    let mut browser = Browser::new(app.clone());
    let page = browser
        .post("/password/forgot", &[("email", "ana@example.com")])
        .await;
    assert_eq!(page.location(), "/password/forgot?notice=reset_sent");
    let unknown = browser
        .post("/password/forgot", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(
        unknown.location(),
        page.location(),
        "no hint whether an account exists"
    );

    let mail = site
        .smtp
        .wait_for("ana@example.com", "/password/reset/")
        .await;
    let link = mail.link("http://localhost:8080/password/reset/").unwrap();
    let path = link.trim_start_matches("http://localhost:8080");
    assert_eq!(browser.get(path).await.status, StatusCode::OK);
    let weak = browser.post(path, &[("password", "short")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = browser
        .post(path, &[("password", "a brand new harbour 2026")])
        .await;
    assert_eq!(done.location(), "/login?notice=password_reset");
    let reused = browser
        .post(path, &[("password", "yet another harbour 2027")])
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reused.body.contains("expired or was already used"));

    assert_eq!(
        sign_in!(browser, "ana@example.com", PASSWORD).status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        sign_in!(browser, "ana@example.com", "a brand new harbour 2026").status,
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn an_expired_reset_link_is_refused() {
    use whatsdex::db::schema::email_tokens;
    let site = Site::start();
    let app = site.app().await;
    sign_up!(Browser::new(app.clone()), "Ana", "ana@example.com", "Ana's");
    let mut browser = Browser::new(app.clone());
    browser
        .post("/password/forgot", &[("email", "ana@example.com")])
        .await;
    let link = site
        .smtp
        .wait_for("ana@example.com", "/password/reset/")
        .await
        .link("http://localhost:8080/password/reset/")
        .unwrap();
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    site.query(move |c| {
        diesel::update(email_tokens::table)
            .set(email_tokens::expires_at.eq(past))
            .execute(c)
    })
    .await;
    let path = link.trim_start_matches("http://localhost:8080");
    assert_eq!(browser.get(path).await.status, StatusCode::GONE);
    assert_eq!(
        browser
            .post(path, &[("password", "a brand new harbour 2026")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[actix_web::test]
async fn email_verification_link_confirms_once() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Ana's");
    let link = site
        .smtp
        .wait_for("ana@example.com", "/verify-email/")
        .await
        .link("http://localhost:8080/verify-email/")
        .unwrap();
    let path = link.trim_start_matches("http://localhost:8080").to_owned();
    assert_eq!(
        ana.get(&path).await.location(),
        "/dashboard?notice=email_verified"
    );
    assert!(
        !ana.get("/dashboard")
            .await
            .body
            .contains("confirm your email")
    );
    assert_eq!(ana.get(&path).await.status, StatusCode::GONE, "single use");
}

#[actix_web::test]
async fn invitation_lets_a_new_person_join_the_workspace() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up!(owner, "Ana", "ana@example.com", "Lima Bakery");
    let page = owner
        .post(
            "/workspace/members/invite",
            &[("email", "Bea@Example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("/invitations/"));
    let link = site
        .smtp
        .wait_for("bea@example.com", "/invitations/")
        .await
        .link("http://localhost:8080/invitations/")
        .unwrap();
    let path = link.trim_start_matches("http://localhost:8080").to_owned();

    let mut bea = Browser::new(app.clone());
    let preview = bea.get(&path).await;
    assert!(preview.body.contains("Join Lima Bakery"));
    let to_signup = bea.post(&format!("{path}/accept"), &[]).await;
    assert!(
        to_signup.location().starts_with("/signup?invitation="),
        "{}",
        to_signup.location()
    );
    let token = path.trim_start_matches("/invitations/");
    let joined = bea
        .post(
            "/signup",
            &[
                ("name", "Bea"),
                ("email", "bea@example.com"),
                ("password", PASSWORD),
                ("invitation", token),
            ],
        )
        .await;
    assert_eq!(
        joined.location(),
        "/dashboard?notice=joined",
        "{}",
        joined.body
    );
    let dashboard = bea.get("/dashboard").await;
    assert!(dashboard.body.contains("Lima Bakery"));
    assert!(
        !dashboard.body.contains("confirm your email"),
        "the invitation link proved the address"
    );
    assert_eq!(
        bea.get(&path).await.status,
        StatusCode::GONE,
        "an invitation works once"
    );

    let members = owner.get("/workspace/members").await;
    assert!(members.body.contains("bea@example.com"));
}

#[actix_web::test]
async fn an_invitation_is_for_the_address_it_was_sent_to() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up!(owner, "Ana", "ana@example.com", "Lima Bakery");
    owner
        .post(
            "/workspace/members/invite",
            &[("email", "bea@example.com"), ("role", "member")],
        )
        .await;
    let link = site
        .smtp
        .wait_for("bea@example.com", "/invitations/")
        .await
        .link("http://localhost:8080/invitations/")
        .unwrap();
    let mut carl = Browser::new(app.clone());
    sign_up!(carl, "Carl", "carl@example.com", "Carl's");
    let path = link.trim_start_matches("http://localhost:8080");
    let page = carl.post(&format!("{path}/accept"), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("was sent to bea@example.com"));
}

#[actix_web::test]
async fn roles_decide_who_may_manage_members() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up!(owner, "Ana", "ana@example.com", "Lima Bakery");
    let mut member = Browser::new(app.clone());
    crate::common::invite_and_join(&site, &mut owner, &mut member, "Bea", "bea@example.com").await;
    let refused = member
        .post(
            "/workspace/members/invite",
            &[("email", "x@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        member.get("/workspace/audit").await.status,
        StatusCode::FORBIDDEN
    );

    let bea_id: String = site
        .query(|c| {
            users::table
                .filter(users::email.eq("bea@example.com"))
                .select(users::id)
                .first(c)
        })
        .await;
    let ana_id: String = site
        .query(|c| {
            users::table
                .filter(users::email.eq("ana@example.com"))
                .select(users::id)
                .first(c)
        })
        .await;
    assert_eq!(
        member
            .post(&format!("/workspace/members/{ana_id}/remove"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        owner.post("/workspace/leave", &[]).await.status,
        StatusCode::FORBIDDEN,
        "the owner must hand over first"
    );

    let promoted = owner
        .post(
            &format!("/workspace/members/{bea_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(
        promoted.location(),
        "/workspace/members?notice=role_changed"
    );
    let transferred = owner
        .post(&format!("/workspace/members/{bea_id}/transfer"), &[])
        .await;
    assert_eq!(
        transferred.location(),
        "/workspace/members?notice=transferred"
    );
    let roles: Vec<(String, String)> = site
        .query(|c| {
            memberships::table
                .inner_join(users::table)
                .select((users::email, memberships::role))
                .order(users::email.asc())
                .load(c)
        })
        .await;
    assert_eq!(
        roles,
        [
            ("ana@example.com".into(), "admin".into()),
            ("bea@example.com".into(), "owner".into())
        ]
    );
    assert_eq!(
        owner.post("/workspace/leave", &[]).await.location(),
        "/dashboard?notice=left"
    );

    let audit = member.get("/workspace/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    // In words ("Changed a member's role", whose apostrophe comes escaped).
    for action in [
        "Invited someone to the workspace",
        "Accepted an invitation and joined",
        "Changed a member",
        "Handed over ownership",
        "Left the workspace",
        "Signed up",
    ] {
        assert!(audit.body.contains(action), "audit log lacks {action}");
    }
}

#[actix_web::test]
async fn a_person_can_belong_to_several_workspaces_and_switch() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Lima Bakery");
    let created = ana
        .post("/workspaces/new", &[("workspace_name", "Lima Catering")])
        .await;
    assert_eq!(created.location(), "/dashboard?notice=switched");
    assert!(
        ana.get("/dashboard")
            .await
            .body
            .contains("<h1>Lima Catering</h1>")
    );
    let bakery: String = site
        .query(|c| {
            tenants::table
                .filter(tenants::name.eq("Lima Bakery"))
                .select(tenants::id)
                .first(c)
        })
        .await;
    ana.post("/workspaces/switch", &[("tenant_id", &bakery)])
        .await;
    assert!(
        ana.get("/dashboard")
            .await
            .body
            .contains("<h1>Lima Bakery</h1>")
    );
}

#[actix_web::test]
async fn account_settings_change_name_password_and_delete() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Lima Bakery");
    let mut other_device = Browser::new(app.clone());
    sign_in!(other_device, "ana@example.com", PASSWORD);

    assert_eq!(
        ana.post("/account/profile", &[("name", "Ana Maria")])
            .await
            .location(),
        "/account?notice=profile_saved"
    );
    let wrong = ana
        .post(
            "/account/password",
            &[
                ("current_password", "nope nope nope"),
                ("new_password", "fresh mango river 44"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("not your current password"));
    let changed = ana
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "fresh mango river 44"),
            ],
        )
        .await;
    assert_eq!(changed.location(), "/account?notice=password_changed");
    assert_eq!(
        other_device.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "other sessions end"
    );
    assert_eq!(
        ana.get("/dashboard").await.status,
        StatusCode::OK,
        "this one stays"
    );

    let email = ana
        .post(
            "/account/email",
            &[
                ("email", "ana.maria@example.com"),
                ("current_password", "fresh mango river 44"),
            ],
        )
        .await;
    assert_eq!(email.location(), "/account?notice=email_sent");
    let link = site
        .smtp
        .wait_for("ana.maria@example.com", "/verify-email/")
        .await
        .link("http://localhost:8080/verify-email/")
        .unwrap();
    ana.get(link.trim_start_matches("http://localhost:8080"))
        .await;
    assert!(
        ana.get("/account")
            .await
            .body
            .contains("ana.maria@example.com")
    );

    let unconfirmed = ana
        .post(
            "/account/delete",
            &[
                ("confirmation", "yes"),
                ("current_password", "fresh mango river 44"),
            ],
        )
        .await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = ana
        .post(
            "/account/delete",
            &[
                ("confirmation", "delete my account"),
                ("current_password", "fresh mango river 44"),
            ],
        )
        .await;
    assert_eq!(deleted.location(), "/login?notice=account_deleted");
    assert_eq!(count_users(&site).await, 0);
    let workspaces: i64 = site.query(|c| tenants::table.count().get_result(c)).await;
    assert_eq!(workspaces, 0, "a workspace with no one else in it goes too");
}

#[actix_web::test]
async fn deleting_a_workspace_needs_its_name() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Lima Bakery");
    let wrong = ana
        .post("/workspace/delete", &[("confirmation", "Lima")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Type the workspace name, Lima Bakery"));
    let gone = ana
        .post("/workspace/delete", &[("confirmation", "Lima Bakery")])
        .await;
    assert_eq!(gone.location(), "/dashboard?notice=workspace_deleted");
    let workspaces: i64 = site.query(|c| tenants::table.count().get_result(c)).await;
    assert_eq!(workspaces, 0);
    assert_eq!(ana.get("/dashboard").await.location(), "/workspaces/new");
}

#[actix_web::test]
async fn htmx_requests_carry_the_token_in_a_header() {
    let site = Site::start();
    let mut ana = Browser::new(site.app().await);
    sign_up!(ana, "Ana", "ana@example.com", "Lima Bakery");
    let token = ana.cookies["wdx_csrf"].clone();
    let request = |csrf: &str| {
        actix_web::test::TestRequest::post()
            .uri("/account/profile")
            .insert_header(("hx-request", "true"))
            .insert_header(("x-csrf-token", csrf.to_owned()))
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("name=Ana+Htmx")
    };
    assert_eq!(
        ana.send_request(request("wrong")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ana.send_request(request(&token)).await.status,
        StatusCode::SEE_OTHER
    );
    let name: String = site
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ana Htmx");
}

#[actix_web::test]
async fn cross_site_posts_are_refused_even_with_a_token() {
    let site = Site::start();
    let mut ana = Browser::new(site.app().await);
    sign_up!(ana, "Ana", "ana@example.com", "Lima Bakery");
    let token = ana.cookies["wdx_csrf"].clone();
    let request = actix_web::test::TestRequest::post()
        .uri("/account/profile")
        .insert_header(("origin", "https://evil.example"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(format!("csrf_token={token}&name=Mallory"));
    assert_eq!(
        ana.send_request(request).await.status,
        StatusCode::FORBIDDEN
    );
    let name: String = site
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ana");
}

#[actix_web::test]
async fn cookies_are_secure_behind_tls() {
    let site = Site::start();
    let mut state = site.state.clone();
    state.context.config = std::sync::Arc::new(
        site.db
            .config_with(&[("APP_BASE_URL", "https://bots.example.com")]),
    );
    let app = std::rc::Rc::new(actix_web::test::init_service(whatsdex::web::app(state)).await);
    let mut ana = Browser::new(app);
    let page = sign_up!(ana, "Ana", "ana@example.com", "Lima Bakery");
    let cookies = page.set_cookies();
    assert!(!cookies.is_empty());
    for cookie in cookies {
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
}

/// Two reset links were sent; using one (or changing the password) voids the other.
#[actix_web::test]
async fn using_one_reset_link_voids_every_other() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    sign_up!(ana, "Ana", "ana@example.com", "Ana's");
    let mut browser = Browser::new(app.clone());
    let mut links = Vec::new();
    for sent in 1..=3 {
        browser
            .post("/password/forgot", &[("email", "ana@example.com")])
            .await;
        // The sign-up's verification email counts too: wait for this reset email.
        site.smtp.wait_for_count("ana@example.com", sent + 1).await;
        let link = site
            .smtp
            .wait_for("ana@example.com", "/password/reset/")
            .await
            .link("http://localhost:8080/password/reset/")
            .unwrap();
        links.push(link.trim_start_matches("http://localhost:8080").to_owned());
    }
    let (oldest, older, newest) = (&links[0], &links[1], &links[2]);
    assert!(oldest != older && older != newest);

    let done = browser
        .post(newest, &[("password", "a brand new harbour 2026")])
        .await;
    assert_eq!(done.location(), "/login?notice=password_reset");
    let stale = browser
        .post(older, &[("password", "an attacker's harbour 2026")])
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(browser.get(older).await.status, StatusCode::GONE);
    assert_eq!(
        sign_in!(browser, "ana@example.com", "a brand new harbour 2026").status,
        StatusCode::SEE_OTHER,
        "the password set by the newest link stands"
    );

    // A password changed in the account settings voids outstanding links too.
    let mut again = Browser::new(app.clone());
    again
        .post("/password/forgot", &[("email", "ana@example.com")])
        .await;
    site.smtp.wait_for_count("ana@example.com", 5).await;
    let pending = site
        .smtp
        .wait_for("ana@example.com", "/password/reset/")
        .await
        .link("http://localhost:8080/password/reset/")
        .unwrap();
    let pending = pending
        .trim_start_matches("http://localhost:8080")
        .to_owned();
    assert_eq!(again.get(&pending).await.status, StatusCode::OK);
    let changed = browser
        .post(
            "/account/password",
            &[
                ("current_password", "a brand new harbour 2026"),
                ("new_password", "the settings harbour 2027"),
            ],
        )
        .await;
    assert_eq!(changed.location(), "/account?notice=password_changed");
    assert_eq!(again.get(&pending).await.status, StatusCode::GONE);
}
