//! The `whatsdex` binary: parse the command line, read the configuration, run the command.

use std::process::ExitCode;

use clap::Parser;
use whatsdex::cli::{AdminCommand, Cli, Command};
use whatsdex::config::Config;
use whatsdex::{commands, server, telemetry};

/// Exit code for a configuration the binary cannot use.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("whatsdex: configuration error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(config.log_format, "info");
    let result = match cli.subcommand() {
        Command::Migrate => commands::migrate(&config),
        Command::Seed => commands::seed(&config),
        Command::Admin {
            command: AdminCommand::Create { email },
        } => commands::admin_create(&config, &email),
        Command::Serve { migrate } => server::prepare(config, migrate)
            .and_then(|state| actix_web::rt::System::new().block_on(server::serve(state))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
