//! `livecue serve`: bind, load the configuration, run the server until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::LexiconArgs;
use crate::config::Config;
use crate::server::{self, Options};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (rooms, catalogs, scripts, tokens, limits).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Add the demo room `demo` with a built-in catalog, scripts and simulated audience.
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on (default 127.0.0.1:8686, or the config's [server] listen).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Where the store keeps its database and pseudonym secret.
    #[arg(long, value_name = "DIR", default_value = super::report::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub lexicons: LexiconArgs,
    #[command(flatten)]
    pub model: super::ModelArgs,
    /// Test aid for the Autobahn|Testsuite: /ws/ingest and /ws/room/R echo every message
    /// instead of ingesting it (same gate, tokens and limits). Never for a real stream.
    #[arg(long)]
    pub conformance_echo: bool,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if config.rooms.is_empty() && !args.demo {
        anyhow::bail!("no rooms to serve: give --config with [[rooms]], or --demo");
    }
    let listen = match args.listen {
        Some(addr) => addr,
        None => config.server.listen.parse().with_context(|| {
            format!(
                "[server] listen = {:?} is not an address",
                config.server.listen
            )
        })?,
    };
    let lexicons = match &args.lexicons.lexicons {
        Some(_) => Some(args.lexicons.load()?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr().unwrap_or(listen);
        eprintln!("livecue: serving on http://{addr}/ (data in {})", args.data_dir.display());
        if args.demo {
            eprintln!(
                "livecue: demo room: http://{addr}/overlay?room=demo  ·  http://{addr}/console?room=demo"
            );
        }
        let options = Options {
            demo: args.demo,
            lexicons,
            model: args.model.choice()?,
            data_dir: Some(args.data_dir.clone()),
            conformance_echo: args.conformance_echo,
        };
        server::run(listener, config, options, shutdown_signal()).await
    })?;
    eprintln!("livecue: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
