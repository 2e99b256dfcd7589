//! The deployment files (Dockerfile, render.yaml, railway.json) name commands and health paths
//! of this binary. Check that every command they name is one the binary accepts, that every
//! health path answers 200 from the real binary, and that the platforms' own rules are kept
//! (Render wires the database, the Key Value instance and the key; Railway refuses VOLUME).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value as Json;
use whatsdex::cli::Cli;
use yaml_rust2::{Yaml, YamlLoader};

// ------------------------------------------------------------------------------------------
// Reading the files

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn read(name: &str) -> String {
    fs::read_to_string(repo_file(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

fn render_blueprint() -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read("render.yaml"))
        .unwrap_or_else(|e| panic!("render.yaml is not valid YAML: {e}"));
    assert_eq!(
        docs.len(),
        1,
        "render.yaml must hold exactly one YAML document"
    );
    docs.remove(0)
}

fn railway_config() -> Json {
    serde_json::from_str(&read("railway.json"))
        .unwrap_or_else(|e| panic!("railway.json is not valid JSON: {e}"))
}

fn yaml_list(y: &Yaml) -> &[Yaml] {
    y.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

/// The Render web service (exactly one).
fn render_web_service(blueprint: &Yaml) -> &Yaml {
    let webs: Vec<&Yaml> = yaml_list(&blueprint["services"])
        .iter()
        .filter(|s| s["type"].as_str() == Some("web"))
        .collect();
    assert_eq!(
        webs.len(),
        1,
        "render.yaml must define exactly one web service"
    );
    webs[0]
}

/// One Dockerfile instruction: its keyword in upper case and the rest of its (joined) line.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

/// Parse a Dockerfile into instructions: comments dropped, `\` continuations joined (comment
/// lines inside a continuation are dropped, as Docker does).
fn dockerfile() -> Vec<Instruction> {
    let text = read("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let joined = std::mem::take(&mut current);
        let joined = joined.trim();
        if joined.is_empty() {
            continue;
        }
        let (keyword, args) = joined
            .split_once(char::is_whitespace)
            .unwrap_or((joined, ""));
        out.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_string(),
        });
    }
    assert!(
        current.trim().is_empty(),
        "Dockerfile ends inside a line continuation"
    );
    out
}

/// The instructions of the last stage (the image that is shipped).
fn final_stage(all: &[Instruction]) -> &[Instruction] {
    let start = all
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .expect("Dockerfile has no FROM");
    &all[start..]
}

/// The command of an exec-form (`["a", "b"]`) or shell-form (`a b`) CMD.
fn exec_or_shell_form(args: &str) -> Vec<String> {
    if args.starts_with('[') {
        serde_json::from_str::<Vec<String>>(args)
            .unwrap_or_else(|e| panic!("`{args}` is not a JSON array of strings: {e}"))
    } else {
        args.split_whitespace().map(str::to_string).collect()
    }
}

// ------------------------------------------------------------------------------------------
// What the files name

/// Where a command or path was found, for messages.
type Named<T> = (String, T);

/// Every command line that runs the binary on a platform: start commands and pre-deploy
/// commands, each as argv.
fn start_commands() -> Vec<Named<Vec<String>>> {
    let mut out = Vec::new();

    let blueprint = render_blueprint();
    let web = render_web_service(&blueprint);
    for field in ["dockerCommand", "startCommand"] {
        if let Some(cmd) = web[field].as_str() {
            out.push((format!("render.yaml {field}"), split(cmd)));
        }
    }

    let railway = railway_config();
    if let Some(cmd) = railway["deploy"]["startCommand"].as_str() {
        out.push(("railway.json deploy.startCommand".into(), split(cmd)));
    }

    let docker = dockerfile();
    let cmd = final_stage(&docker)
        .iter()
        .rfind(|i| i.keyword == "CMD")
        .expect("the final stage of the Dockerfile has no CMD");
    out.push(("Dockerfile CMD".into(), exec_or_shell_form(&cmd.args)));
    out
}

fn pre_deploy_commands() -> Vec<Named<Vec<String>>> {
    let mut out = Vec::new();
    let blueprint = render_blueprint();
    let web = render_web_service(&blueprint);
    let cmd = web["preDeployCommand"]
        .as_str()
        .expect("render.yaml: web service has no preDeployCommand");
    out.push(("render.yaml preDeployCommand".into(), split(cmd)));

    let railway = railway_config();
    match &railway["deploy"]["preDeployCommand"] {
        Json::String(cmd) => out.push(("railway.json deploy.preDeployCommand".into(), split(cmd))),
        Json::Array(cmds) => {
            assert!(
                !cmds.is_empty(),
                "railway.json: deploy.preDeployCommand is an empty list"
            );
            for (n, cmd) in cmds.iter().enumerate() {
                let cmd = cmd
                    .as_str()
                    .expect("railway.json: preDeployCommand entries must be strings");
                out.push((
                    format!("railway.json deploy.preDeployCommand[{n}]"),
                    split(cmd),
                ));
            }
        }
        other => {
            panic!("railway.json: deploy.preDeployCommand must be a string or a list, got {other}")
        }
    }
    out
}

fn split(cmd: &str) -> Vec<String> {
    cmd.split_whitespace().map(str::to_string).collect()
}

/// Every health-check path the platforms and the image probe, with the Host header that prober
/// sends (Railway probes with its own host name).
fn health_checks() -> Vec<(String, String, Option<&'static str>)> {
    let mut out = Vec::new();

    let blueprint = render_blueprint();
    let web = render_web_service(&blueprint);
    let path = web["healthCheckPath"]
        .as_str()
        .expect("render.yaml: web service has no healthCheckPath");
    out.push(("render.yaml healthCheckPath".into(), path.to_string(), None));

    let railway = railway_config();
    let path = railway["deploy"]["healthcheckPath"]
        .as_str()
        .expect("railway.json: deploy.healthcheckPath is missing");
    out.push((
        "railway.json deploy.healthcheckPath".into(),
        path.to_string(),
        Some("healthcheck.railway.app"),
    ));

    out.push((
        "Dockerfile HEALTHCHECK".into(),
        dockerfile_healthcheck_path(),
        None,
    ));
    out
}

/// The path of the URL that the final stage's HEALTHCHECK fetches from the container itself.
fn dockerfile_healthcheck_path() -> String {
    let docker = dockerfile();
    let check = final_stage(&docker)
        .iter()
        .rfind(|i| i.keyword == "HEALTHCHECK")
        .expect("the final stage of the Dockerfile has no HEALTHCHECK");
    let start = check
        .args
        .find("http://")
        .expect("HEALTHCHECK fetches no http:// URL");
    let url: String = check.args[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect();
    let after_scheme = &url["http://".len()..];
    let slash = after_scheme.find('/').expect("HEALTHCHECK URL has no path");
    let (authority, path) = after_scheme.split_at(slash);
    assert!(
        authority.starts_with("127.0.0.1:") || authority.starts_with("localhost:"),
        "HEALTHCHECK must probe the container itself over loopback, not {authority}"
    );
    let port = &authority[authority.find(':').unwrap() + 1..];
    assert!(
        matches!(port, "${PORT}" | "$PORT")
            || port == dockerfile_env("PORT").as_deref().unwrap_or(""),
        "HEALTHCHECK probes port {port}, not the PORT the server listens on"
    );
    path.to_string()
}

/// A variable's value as set by `ENV` in the final stage (both `K=V` and `K V` forms).
fn dockerfile_env(key: &str) -> Option<String> {
    let docker = dockerfile();
    let mut found = None;
    for env in final_stage(&docker).iter().filter(|i| i.keyword == "ENV") {
        if env.args.contains('=') {
            for pair in env.args.split_whitespace() {
                if let Some((k, v)) = pair.split_once('=')
                    && k == key
                {
                    found = Some(v.trim_matches('"').to_string());
                }
            }
        } else if let Some((k, v)) = env.args.split_once(char::is_whitespace)
            && k == key
        {
            found = Some(v.trim().trim_matches('"').to_string());
        }
    }
    found
}

// ------------------------------------------------------------------------------------------
// Commands

/// `argv` runs this binary and is a command line it accepts; returns the subcommand named.
fn assert_runs_whatsdex(origin: &str, argv: &[String]) -> Option<String> {
    let program = argv
        .first()
        .unwrap_or_else(|| panic!("{origin}: empty command"));
    assert!(
        program == "whatsdex" || program == "/usr/local/bin/whatsdex",
        "{origin}: `{}` does not run the whatsdex binary",
        argv.join(" ")
    );
    if let Err(e) = Cli::try_parse_from(argv) {
        panic!(
            "{origin}: `{}` is not a valid whatsdex command line:\n{e}",
            argv.join(" ")
        );
    }
    argv[1..].iter().find(|a| !a.starts_with('-')).cloned()
}

#[test]
fn start_commands_serve() {
    let commands = start_commands();
    assert!(
        commands.len() >= 3,
        "expected a start command from each of the three files"
    );
    for (origin, argv) in commands {
        let sub = assert_runs_whatsdex(&origin, &argv);
        assert!(
            matches!(sub.as_deref(), None | Some("serve")),
            "{origin}: `{}` does not start the server",
            argv.join(" ")
        );
    }
}

#[test]
fn pre_deploy_commands_migrate() {
    for (origin, argv) in pre_deploy_commands() {
        let sub = assert_runs_whatsdex(&origin, &argv);
        assert_eq!(
            sub.as_deref(),
            Some("migrate"),
            "{origin}: `{}` does not migrate",
            argv.join(" ")
        );
    }
}

// ------------------------------------------------------------------------------------------
// Render wiring

fn env_var<'a>(web: &'a Yaml, key: &str) -> &'a Yaml {
    yaml_list(&web["envVars"])
        .iter()
        .find(|v| v["key"].as_str() == Some(key))
        .unwrap_or_else(|| panic!("render.yaml: the web service does not set {key}"))
}

#[test]
fn render_wires_database_key_value_and_key() {
    let blueprint = render_blueprint();
    let web = render_web_service(&blueprint);
    assert_eq!(
        web["runtime"].as_str(),
        Some("docker"),
        "render.yaml: the web service must build the Dockerfile"
    );
    if let Some(path) = web["dockerfilePath"].as_str() {
        assert!(
            repo_file(path).is_file(),
            "render.yaml: dockerfilePath {path} does not exist"
        );
    }

    let databases: Vec<&str> = yaml_list(&blueprint["databases"])
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    for key in ["DATABASE_URL", "MIGRATION_DATABASE_URL"] {
        let from = &env_var(web, key)["fromDatabase"];
        let name = from["name"]
            .as_str()
            .unwrap_or_else(|| panic!("render.yaml: {key} is not taken fromDatabase"));
        assert!(
            databases.contains(&name),
            "render.yaml: {key} names database {name}, which the Blueprint does not define"
        );
        assert_eq!(
            from["property"].as_str(),
            Some("connectionString"),
            "render.yaml: {key} must be the connectionString"
        );
    }

    let redis = &env_var(web, "REDIS_URL")["fromService"];
    let kv_name = redis["name"]
        .as_str()
        .expect("render.yaml: REDIS_URL is not taken fromService");
    assert!(
        matches!(redis["type"].as_str(), Some("keyvalue" | "redis")),
        "render.yaml: REDIS_URL must come from a keyvalue service"
    );
    assert_eq!(
        redis["property"].as_str(),
        Some("connectionString"),
        "render.yaml: REDIS_URL must be the connectionString"
    );
    let kv = yaml_list(&blueprint["services"])
        .iter()
        .find(|s| s["name"].as_str() == Some(kv_name) && matches!(s["type"].as_str(), Some("keyvalue" | "redis")))
        .unwrap_or_else(|| panic!("render.yaml: REDIS_URL names {kv_name}, which is not a keyvalue service of the Blueprint"));
    assert!(
        kv["ipAllowList"].as_vec().is_some(),
        "render.yaml: a Key Value instance requires ipAllowList"
    );

    // Render generates a base64-encoded 256-bit value (32 bytes), which is what ENCRYPTION_KEY takes.
    let key = env_var(web, "ENCRYPTION_KEY");
    assert!(
        key["generateValue"].as_bool() == Some(true) || key["sync"].as_bool() == Some(false),
        "render.yaml: ENCRYPTION_KEY must be generated by Render or entered in the Dashboard"
    );
}

#[test]
fn render_commits_no_secret() {
    let blueprint = render_blueprint();
    for service in yaml_list(&blueprint["services"]) {
        for var in yaml_list(&service["envVars"]) {
            let key = var["key"].as_str().unwrap_or_default();
            let secret = ["KEY", "SECRET", "PASSWORD", "TOKEN", "_URL"]
                .iter()
                .any(|s| key.contains(s))
                && key != "APP_BASE_URL";
            assert!(
                !secret || var["value"].is_badvalue(),
                "render.yaml: {key} has a literal value; secrets and credentials must not be committed"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Railway and the Dockerfile

#[test]
fn railway_builds_the_dockerfile() {
    let railway = railway_config();
    assert_eq!(railway["build"]["builder"].as_str(), Some("DOCKERFILE"));
    let path = railway["build"]["dockerfilePath"]
        .as_str()
        .unwrap_or("Dockerfile");
    assert!(
        repo_file(path).is_file(),
        "railway.json: dockerfilePath {path} does not exist"
    );
    assert!(
        matches!(
            railway["deploy"]["restartPolicyType"].as_str(),
            Some("ON_FAILURE" | "ALWAYS" | "NEVER")
        ),
        "railway.json: restartPolicyType must be ON_FAILURE, ALWAYS or NEVER"
    );
}

#[test]
fn dockerfile_keeps_the_platforms_rules() {
    let docker = dockerfile();
    // Railway refuses to build a Dockerfile with VOLUME ("use Railway Volumes").
    assert!(
        !docker.iter().any(|i| i.keyword == "VOLUME"),
        "Dockerfile: Railway rejects the VOLUME instruction"
    );
    let last = final_stage(&docker);
    // Platform start commands replace CMD; an ENTRYPOINT would get them as arguments.
    assert!(
        !last.iter().any(|i| i.keyword == "ENTRYPOINT"),
        "Dockerfile: the final stage must not set ENTRYPOINT"
    );
    let user = last
        .iter()
        .rfind(|i| i.keyword == "USER")
        .expect("Dockerfile: the final stage runs as root");
    let uid = user.args.split(':').next().unwrap_or_default();
    assert!(
        !matches!(uid, "0" | "root"),
        "Dockerfile: the final stage runs as root"
    );
    // The binary is on PATH, so `whatsdex …` resolves in start and pre-deploy commands.
    assert!(
        last.iter()
            .any(|i| i.keyword == "COPY" && i.args.ends_with("/usr/local/bin/whatsdex")),
        "Dockerfile: the final stage must install the binary as /usr/local/bin/whatsdex"
    );
    let port = dockerfile_env("PORT").expect("Dockerfile: the final stage sets no PORT");
    assert!(
        last.iter().any(|i| i.keyword == "EXPOSE"
            && i.args
                .split_whitespace()
                .any(|p| p.trim_end_matches("/tcp") == port)),
        "Dockerfile: EXPOSE does not name PORT {port}"
    );
}

#[test]
fn dockerfile_copies_everything_the_build_reads() {
    let docker = dockerfile();
    let copied: Vec<String> = docker
        .iter()
        .filter(|i| i.keyword == "COPY" && !i.args.starts_with("--from"))
        .flat_map(|i| {
            let parts: Vec<&str> = i
                .args
                .split_whitespace()
                .filter(|a| !a.starts_with("--"))
                .collect();
            let sources = &parts[..parts.len().saturating_sub(1)];
            sources
                .iter()
                .map(|s| s.trim_end_matches('/').trim_start_matches("./").to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    // Macros read these at compile time (askama, diesel_migrations, rust-embed), and cargo reads
    // the manifest, the lock file and any build script or configuration.
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "migrations",
        "templates",
        "static",
        "build.rs",
        "askama.toml",
        ".cargo",
    ] {
        if repo_file(needed).exists() {
            assert!(
                copied.iter().any(|c| c == needed),
                "Dockerfile: {needed} exists but is not copied into the build"
            );
        }
    }
    let ignore = read(".dockerignore");
    assert!(
        ignore
            .lines()
            .any(|l| l.trim().trim_matches('/') == "target"),
        ".dockerignore must exclude target"
    );
}

// ------------------------------------------------------------------------------------------
// Health paths, against the real binary

/// The server, killed when dropped (also when a test panics).
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start `whatsdex serve` on SQLite in a fresh folder and wait until `/health` answers 200.
fn start_server() -> Server {
    let mut last_log = String::new();
    // A port picked free can be taken before the server binds it: try a few.
    for _ in 0..3 {
        let data = tempfile::tempdir().unwrap();
        let log = data.path().join("server.log");
        let out = File::create(&log).unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_whatsdex"))
            .arg("serve")
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("DATA_DIR", data.path().join("data"))
            .env_remove("DATABASE_URL")
            .env_remove("MIGRATION_DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("ENCRYPTION_KEY")
            .env_remove("APP_BASE_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("cannot start the whatsdex binary");
        let mut server = Server {
            child,
            port,
            log,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                last_log = format!("exited with {status}:\n{}", server.log());
                break;
            }
            if let Ok((200, _)) = http_get(port, "/health", None) {
                return server;
            }
            if Instant::now() > deadline {
                panic!(
                    "whatsdex serve did not answer /health with 200 within 60 s:\n{}",
                    server.log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("whatsdex serve did not start: {last_log}");
}

/// GET `path` over HTTP/1.1; returns the status code and the body.
fn http_get(port: u16, path: &str, host: Option<&str>) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let host = host
        .map(str::to_string)
        .unwrap_or_else(|| format!("127.0.0.1:{port}"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: whatsdex-deploy-files-test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP response: {text:?}"),
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn health_paths_answer_200() {
    let checks = health_checks();
    for (origin, path, _) in &checks {
        assert!(
            path.starts_with('/'),
            "{origin}: health path {path:?} must start with /"
        );
    }
    let server = start_server();
    for (origin, path, host) in &checks {
        // Readiness may trail liveness for a moment while the pool warms up: allow a few seconds.
        let deadline = Instant::now() + Duration::from_secs(10);
        let last = loop {
            let answer = http_get(server.port, path, *host);
            match &answer {
                Ok((200, _)) => break answer,
                _ if Instant::now() > deadline => break answer,
                _ => thread::sleep(Duration::from_millis(100)),
            }
        };
        match last {
            Ok((200, _)) => {}
            Ok((status, body)) => panic!(
                "{origin}: GET {path} answered {status}: {body}\nserver log:\n{}",
                server.log()
            ),
            Err(e) => panic!(
                "{origin}: GET {path} failed: {e}\nserver log:\n{}",
                server.log()
            ),
        }
    }
}
