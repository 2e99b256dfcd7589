//! Test fixtures: a fresh database per test, on the backend the run asks for.
//!
//! `WHATSDEX_TEST_DATABASE=sqlite` (default): a SQLite file in a temporary folder.
//! `WHATSDEX_TEST_DATABASE=postgres`: a new PostgreSQL database per test, owned by the
//! migration role and used by the app role, set up the way an operator would; it needs
//! `WHATSDEX_TEST_PG_ADMIN_URL`, `WHATSDEX_TEST_PG_MIGRATOR_URL` and
//! `WHATSDEX_TEST_PG_APP_URL` (see `scripts/test`). Redis comes from
//! `WHATSDEX_TEST_REDIS_URL` (default: the local server).

#![allow(dead_code)]

pub mod browser;
pub mod cloud;
pub mod fake_server;
pub mod graph;
pub mod s3;
pub mod smtp;
pub mod sse;
pub mod stripe;

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use url::Url;
use whatsdex::config::Config;
use whatsdex::web::AppState;

/// A fixed key for tests; real deployments generate their own.
pub const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Whether this run tests PostgreSQL (else SQLite).
pub fn on_postgres() -> bool {
    match std::env::var("WHATSDEX_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("WHATSDEX_TEST_DATABASE must be sqlite or postgres, not {other}"),
    }
}

/// The Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("WHATSDEX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} must be set for WHATSDEX_TEST_DATABASE=postgres (scripts/test sets it)")
    })
}

/// A random lowercase name, unique enough for databases and key prefixes.
pub fn unique_name(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("{prefix}_{n:016x}")
}

/// `url` with its path replaced by `/database`.
fn with_database(url: &str, database: &str) -> String {
    let mut url = Url::parse(url).expect("test database URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

fn user_of(url: &str) -> String {
    Url::parse(url)
        .expect("test database URL")
        .username()
        .to_owned()
}

/// A database that exists for one test and is dropped after it.
pub struct TestDatabase {
    /// Holds the SQLite file and the generated key; also the DATA_DIR of a spawned binary.
    pub data_dir: tempfile::TempDir,
    /// The PostgreSQL database's name, when on PostgreSQL.
    pub pg_name: Option<String>,
    /// What the app connects with (the app role on PostgreSQL).
    pub app_url: String,
    /// What migrations run with (the schema owner on PostgreSQL).
    pub migrator_url: String,
    /// This test's Redis keys start with it: tests share one Redis, processes of one test
    /// share keys.
    pub redis_prefix: String,
}

impl TestDatabase {
    /// A new, empty (unmigrated) database.
    pub fn new() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        if !on_postgres() {
            let url = format!("sqlite://{}", data_dir.path().join("whatsdex.db").display());
            return Self {
                data_dir,
                pg_name: None,
                app_url: url.clone(),
                migrator_url: url,
                redis_prefix: format!("{}:", unique_name("wdx_test")),
            };
        }
        let admin_url = required("WHATSDEX_TEST_PG_ADMIN_URL");
        let migrator_base = required("WHATSDEX_TEST_PG_MIGRATOR_URL");
        let app_base = required("WHATSDEX_TEST_PG_APP_URL");
        let name = unique_name("wdx_test");
        let migrator = user_of(&migrator_base);
        let app = user_of(&app_base);

        let mut admin = PgConnection::establish(&admin_url).expect("admin connection");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\" OWNER \"{migrator}\""))
            .expect("create test database");
        // Inside the new database: the operator's one-time set-up (see README).
        let mut admin_in_db =
            PgConnection::establish(&with_database(&admin_url, &name)).expect("admin in test db");
        admin_in_db
            .batch_execute(&format!(
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC;
                 REVOKE TEMPORARY ON DATABASE \"{name}\" FROM PUBLIC;
                 GRANT USAGE ON SCHEMA public TO \"{app}\";
                 GRANT CREATE ON SCHEMA public TO \"{migrator}\";"
            ))
            .expect("role set-up");
        Self {
            data_dir,
            app_url: with_database(&app_base, &name),
            migrator_url: with_database(&migrator_base, &name),
            pg_name: Some(name),
            redis_prefix: format!("{}:", unique_name("wdx_test")),
        }
    }

    /// The environment a deployment on this database would have.
    pub fn env(&self) -> HashMap<String, String> {
        let mut env = HashMap::from([
            ("DATABASE_URL".to_owned(), self.app_url.clone()),
            (
                "DATA_DIR".to_owned(),
                self.data_dir.path().display().to_string(),
            ),
            ("ENCRYPTION_KEY".to_owned(), TEST_KEY.to_owned()),
            ("LOG_FORMAT".to_owned(), "pretty".to_owned()),
        ]);
        if self.pg_name.is_some() {
            env.insert("MIGRATION_DATABASE_URL".into(), self.migrator_url.clone());
            env.insert("REDIS_URL".into(), redis_url());
            env.insert("REDIS_KEY_PREFIX".into(), self.redis_prefix.clone());
        }
        env
    }

    /// A configuration for this database, with `extra` variables on top.
    pub fn config_with(&self, extra: &[(&str, &str)]) -> Config {
        let mut env = self.env();
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        Config::from_lookup(|name| env.get(name).cloned()).expect("test config")
    }

    /// A configuration for this database.
    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    /// Migrate (as the migration role) and prepare the app as `serve` would.
    pub fn prepared_state(&self) -> AppState {
        whatsdex::server::prepare(self.config(), true).expect("prepare app state")
    }

    /// A direct connection as the app role.
    pub fn app_connection(&self) -> whatsdex::db::DbConn {
        whatsdex::db::establish(&self.config().database_url).expect("app connection")
    }

    /// Run `work` on a direct app-role connection that sees every workspace's rows (row-level
    /// security on PostgreSQL), as the bot runtime does; for tests that run the real binary.
    pub fn query_across_tenants<T>(
        &self,
        work: impl FnOnce(&mut whatsdex::db::DbConn) -> QueryResult<T>,
    ) -> T {
        let mut conn = self.app_connection();
        conn.transaction(|conn| {
            if let whatsdex::db::DbConn::Pg(pg) = conn {
                diesel::sql_query("SELECT set_config('app.scope', 'system', true)").execute(pg)?;
            }
            work(conn)
        })
        .expect("query across tenants")
    }

    /// Migrate, then write a workspace `t1` with one sandbox bot `b1`, paired to
    /// +447700900123 and last seen connected: what a process finds when it starts.
    pub fn with_paired_bot(&self) {
        use whatsdex::db::schema::{bots, tenants};
        drop(self.prepared_state());
        self.query_across_tenants(|conn| {
            let now = chrono::Utc::now().naive_utc();
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq("t1"),
                    tenants::name.eq("Process test"),
                    tenants::created_at.eq(now),
                    tenants::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq("b1"),
                    bots::tenant_id.eq("t1"),
                    bots::name.eq("Process bot"),
                    bots::transport.eq("sandbox"),
                    bots::status.eq("connected"),
                    bots::owner_number.eq("447700900123"),
                    bots::paired_at.eq(now),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(conn)
                .map(drop)
        });
    }

    /// Drop the PostgreSQL database now, cutting off every connection to it.
    pub fn drop_now(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let mut admin =
                PgConnection::establish(&required("WHATSDEX_TEST_PG_ADMIN_URL")).expect("admin");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .expect("drop test database");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Keep the evidence of a failed test only if asked; otherwise clean up anyway.
            if std::env::var_os("WHATSDEX_TEST_KEEP_DB").is_some() {
                return;
            }
        }
        self.drop_now();
    }
}

/// A prepared app with email going to a fake SMTP server, and a way to open browsers on it.
pub struct Site {
    pub db: TestDatabase,
    pub smtp: smtp::FakeSmtp,
    pub state: AppState,
}

impl Site {
    /// Migrate, seed and prepare, as `serve` does.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like `start`, with `extra` configuration variables.
    pub fn start_with(extra: &[(&str, &str)]) -> Self {
        // Warnings and errors go to stderr (RUST_LOG=info shows more when debugging a test).
        whatsdex::telemetry::init(whatsdex::config::LogFormat::Pretty, "warn");
        let db = TestDatabase::new();
        let smtp = smtp::FakeSmtp::start();
        let smtp_url = smtp.url();
        let mut settings = vec![
            ("SMTP_URL", smtp_url.as_str()),
            ("APP_BASE_URL", "http://localhost:8080"),
        ];
        settings.extend_from_slice(extra);
        let config = db.config_with(&settings);
        let state = whatsdex::server::prepare(config, true).expect("prepare");
        Self { db, smtp, state }
    }

    /// The app as a service.
    pub async fn app(
        &self,
    ) -> std::rc::Rc<
        impl actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
        >,
    > {
        std::rc::Rc::new(
            actix_web::test::init_service(whatsdex::web::app(self.state.clone())).await,
        )
    }

    /// Run a query as the app (system scope, so row-level security lets it see everything).
    pub async fn query<T, F>(&self, work: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut whatsdex::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
    {
        self.state
            .db
            .run_in(
                whatsdex::db::RowScope::across_tenants("test set-up reads and writes any row"),
                work,
            )
            .await
            .expect("query")
    }
}

/// `inviter` invites `email` as a member; then `joiner` signs up as `name` through the
/// emailed link and joins the workspace.
pub async fn invite_and_join<S, B>(
    site: &Site,
    inviter: &mut browser::Browser<S>,
    joiner: &mut browser::Browser<S>,
    name: &str,
    email: &str,
) where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    inviter
        .post(
            "/workspace/members/invite",
            &[("email", email), ("role", "member")],
        )
        .await;
    let link = site
        .smtp
        .wait_for(email, "/invitations/")
        .await
        .link("http://localhost:8080/invitations/")
        .expect("an invitation link in the email");
    let token = link.rsplit('/').next().unwrap_or_default().to_owned();
    let joined = joiner
        .post(
            "/signup",
            &[
                ("name", name),
                ("email", email),
                ("password", PASSWORD),
                ("invitation", &token),
            ],
        )
        .await;
    assert_eq!(
        joined.location(),
        "/dashboard?notice=joined",
        "{}",
        joined.body
    );
}

/// The platform admin [`signed_in_admin`] makes.
pub const ADMIN_EMAIL: &str = "root@example.com";

/// Make a platform admin (as `whatsdex admin create` does) and sign them in.
pub async fn signed_in_admin<S, B>(site: &Site, browser: &mut browser::Browser<S>) -> browser::Page
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    make_admin(site, ADMIN_EMAIL).await;
    let signed_in = browser
        .post("/login", &[("email", ADMIN_EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(
        signed_in.status,
        actix_web::http::StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    signed_in
}

/// Make `email` a platform admin (created with [`PASSWORD`] if new), as the command does.
pub async fn make_admin(site: &Site, email: &'static str) {
    // Outside a transaction, as the command does: bots write meanwhile (SQLite locks).
    site.state
        .db
        .run(move |conn| {
            whatsdex::accounts::platform_admins::create_or_promote(conn, email, Some(PASSWORD))
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
        })
        .await
        .expect("admin created");
}

/// Sign Ana up with her own workspace (a new workspace lands in the wizard).
pub async fn sign_up<S, B>(
    browser: &mut browser::Browser<S>,
    email: &str,
    workspace: &str,
) -> browser::Page
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let page = browser
        .post(
            "/signup",
            &[
                ("name", "Ana"),
                ("email", email),
                ("password", PASSWORD),
                ("workspace_name", workspace),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        actix_web::http::StatusCode::SEE_OTHER,
        "{}",
        page.body
    );
    page
}

/// The id of the workspace named `name`.
pub async fn tenant_id_of(site: &Site, name: &'static str) -> String {
    use whatsdex::db::schema::tenants;
    site.query(move |c| {
        tenants::table
            .filter(tenants::name.eq(name))
            .select(tenants::id)
            .first(c)
    })
    .await
}

/// A password zxcvbn rates strong, for tests.
pub const PASSWORD: &str = "violet kettle harbour 1987";

/// Poll `probe` (every 25 ms, on this thread) until it holds; how long that took. Fails the
/// test past `limit`.
pub fn wait_until(
    what: &str,
    limit: std::time::Duration,
    mut probe: impl FnMut() -> bool,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    while !probe() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    started.elapsed()
}
