//! `livecue forget`: a viewer asked to be forgotten. Deletes their profile, comments and events
//! in every stored session of the room (what the console's forget action does for a running
//! room, which also clears its memory).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::report::DEFAULT_DATA_DIR;
use crate::privacy::Pseudonym;

#[derive(Debug, Clone, clap::Args)]
pub struct ForgetArgs {
    /// The room.
    #[arg(long)]
    pub room: String,
    /// The viewer's pseudonym: 16 hex digits, as the console and the review show it.
    #[arg(long, value_name = "PSEUDONYM")]
    pub viewer: String,
    /// Where `serve` keeps its database.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

pub fn run(args: &ForgetArgs) -> anyhow::Result<ExitCode> {
    let Some(viewer) = Pseudonym::parse(args.viewer.trim()).map(|p| p.to_string()) else {
        anyhow::bail!(
            "--viewer {:?} is not a pseudonym: 16 hex digits, as the console and the review show it",
            args.viewer
        );
    };
    let gone = crate::store::forget(&args.data_dir, &args.room, &viewer)
        .with_context(|| format!("forgetting {viewer} in room {}", args.room))?;
    println!(
        "room {}: viewer {viewer} forgotten: {} comments, {} events, {} profiles deleted",
        args.room, gone.comments, gone.events, gone.profiles
    );
    if gone == crate::store::Forgotten::default() {
        eprintln!("(nothing was stored for this viewer in this room)");
    }
    Ok(ExitCode::SUCCESS)
}
