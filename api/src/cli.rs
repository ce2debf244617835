//! Command line of the `api` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::auth::Role;
use crate::auth::jwt::{TokenKeys, TokenRequest, parse_ttl};
use crate::config::Settings;
use crate::service::clients;
use crate::startup::Application;
use crate::{db, demo, graphql, telemetry};

#[derive(Parser)]
#[command(
    name = "api",
    version,
    about = "Pathway Partner API: GraphQL service for the CLAP-TECH pathway"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): migrate, seed demo data into an empty database, serve.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Seed the demo data (DOMAIN.md section 6) into an empty database.
    SeedDemo {
        /// Size factor: 1 is about 1,300 students, 100 about 130,000.
        #[arg(long, default_value_t = 1)]
        scale: u32,
    },
    /// Print the GraphQL schema (SDL); needs no database.
    ExportSchema,
    /// Manage integration clients (OAuth 2 client credentials).
    Client {
        #[command(subcommand)]
        action: ClientCommand,
    },
    /// Print a signed bearer token for development and scripts.
    Token {
        /// A role name, e.g. programmeAdmin, schoolCoordinator (repeat for several).
        #[arg(long, required = true)]
        role: Vec<String>,
        /// sourcedId of the organisation the principal acts for, e.g. org-claptech-centre.
        #[arg(long)]
        org: String,
        /// The principal (`sub`); defaults to `dev-<role>`.
        #[arg(long)]
        sub: Option<String>,
        /// Space-separated scopes.
        #[arg(long, default_value = "")]
        scope: String,
        /// Lifetime, e.g. 15m, 1h, 2d; defaults to APP_AUTH__TOKEN_TTL_SECONDS (15 minutes).
        #[arg(long)]
        ttl: Option<String>,
        /// Mark the token as an integration client's.
        #[arg(long)]
        client_id: Option<String>,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create a client; prints `{"client_id": …, "client_secret": …}` (the secret is shown once).
    Create {
        /// sourcedId of the organisation the client acts for.
        #[arg(long)]
        org: String,
        /// Space-separated scopes, e.g. "roster.read roster.write".
        #[arg(long)]
        scopes: String,
        /// A name to recognise the client by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List clients as JSON lines.
    List,
    /// Revoke a client: its tokens stop working at once.
    Revoke {
        /// The client id.
        id: String,
    },
    /// Replace a client's secret (printed once as JSON); the old secret stops working at once.
    Rotate {
        /// The client id.
        id: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::ExportSchema) = cli.command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let (db, _) = db::connect(&settings.database).await?;
            let _guard = db::StartupLock::acquire(&db, &settings.database).await?;
            Migrator::up(&db, None).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo { scale } => {
            if scale == 0 {
                anyhow::bail!("--scale must be at least 1");
            }
            let (db, _) = db::connect(&settings.database).await?;
            let _guard = db::StartupLock::acquire(&db, &settings.database).await?;
            Migrator::up(&db, None).await?;
            if !demo::is_empty(&db).await? {
                anyhow::bail!(
                    "the database already holds data; seed-demo only seeds an empty database"
                );
            }
            let started = std::time::Instant::now();
            let summary = demo::seed(&db, scale).await?;
            println!(
                "seeded {} schools, {} partners, {} students ({} rows) in {:.1} s",
                summary.schools,
                summary.partners,
                summary.students,
                summary.rows,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::ExportSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Client { action } => {
            let (db, _) = db::connect(&settings.database).await?;
            match action {
                ClientCommand::Create { org, scopes, name } => {
                    let issued =
                        clients::create(&db, &org, &scopes, name.as_deref(), "cli").await?;
                    println!("{}", serde_json::to_string(&issued)?);
                }
                ClientCommand::List => {
                    for client in clients::list(&db).await? {
                        println!("{}", serde_json::to_string(&client)?);
                    }
                }
                ClientCommand::Revoke { id } => {
                    clients::revoke(&db, &id, "cli").await?;
                    println!("revoked {id}");
                }
                ClientCommand::Rotate { id } => {
                    let (client, secret) = clients::rotate(&db, &id, None, "cli").await?;
                    println!(
                        "{}",
                        serde_json::json!({ "client_id": client.sourced_id, "client_secret": secret })
                    );
                }
            }
            Ok(())
        }
        Command::Token {
            role,
            org,
            sub,
            scope,
            ttl,
            client_id,
        } => {
            for name in &role {
                if Role::parse(name).is_none() {
                    let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                    anyhow::bail!("unknown role {name:?}; known roles: {}", known.join(", "));
                }
            }
            let ttl_seconds = match ttl {
                Some(ttl) => parse_ttl(&ttl).map_err(anyhow::Error::msg)?,
                None => settings.auth.token_ttl_seconds,
            };
            let keys = TokenKeys::load(&settings.auth)?;
            let subject = sub.unwrap_or_else(|| {
                format!("dev-{}", role.first().map(String::as_str).unwrap_or("user"))
            });
            let token = keys.sign(&TokenRequest {
                subject,
                org,
                roles: role,
                scope,
                client_id,
                ttl_seconds,
            })?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let host = settings.server.host.clone();
    let app = Application::build(settings).await?;
    let url = format!("http://{host}:{}/graphql", app.port());
    tracing::info!(%url, "serving GraphQL");
    println!("Pathway Partner API listening: GraphiQL at {url}");
    println!(
        "Get a token:  cargo run -p api -- token --role programmeAdmin --org org-claptech-centre"
    );
    println!("Then send it as the header  Authorization: Bearer <token>");
    app.run_until_stopped().await?;
    Ok(())
}
