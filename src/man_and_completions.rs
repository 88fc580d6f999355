//! `concur-tui completions SHELL` and `concur-tui man`: the shell completion scripts and the man
//! page, both generated from the clap definition in [`crate::cli`], so they can never disagree
//! with `--help`. Hidden subcommands (the spawned worker's) stay out of both.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, VERSION};

/// The command line as a user sees it: clap's definition without its hidden subcommands, which
/// clap_complete would otherwise offer (clap has no way to remove a subcommand, hence the copy).
fn visible_command() -> clap::Command {
    let full = Cli::command();
    let mut visible = clap::Command::new(env!("CARGO_PKG_NAME"))
        .version(VERSION)
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|subcommand| !subcommand.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    if let Some(long_about) = full.get_long_about() {
        visible = visible.long_about(long_about.clone());
    }
    visible
}

/// Writes `shell`'s completion script for concur-tui to `out`.
pub(crate) fn write_completions(shell: Shell, out: &mut impl Write) -> std::io::Result<()> {
    let mut command = visible_command();
    let name = command.get_name().to_owned();
    // clap_complete panics when its writer fails (a closed pipe): so render to memory first,
    // and let the one write below fail as any other output does.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// Writes the man page, section 1, in roff, to `out`: concur-tui(1), or concur-tui-SUBCOMMAND(1)
/// for one of the subcommands it lists (checked by [`page_subcommand`] when parsed).
pub(crate) fn write_man_page(subcommand: Option<&str>, out: &mut impl Write) -> std::io::Result<()> {
    // Built, so that a subcommand knows its full name (concur-tui-run) and how it is invoked.
    let mut command = visible_command().disable_help_subcommand(true);
    command.build();
    let page_of = match subcommand {
        None => command,
        Some(name) => command.find_subcommand(name).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("there is no subcommand '{name}'"))
        })?,
    };
    let mut page = Vec::new();
    // The footer names the program and version on every page, subcommands' too.
    clap_mangen::Man::new(page_of).source(format!("concur-tui {VERSION}")).render(&mut page)?;
    out.write_all(&page)?;
    out.flush()
}

/// clap's value parser for `man SUBCOMMAND`: one of the subcommands the main page lists.
pub(crate) fn page_subcommand(text: &str) -> Result<String, String> {
    let command = visible_command().disable_help_subcommand(true);
    let names: Vec<&str> = command.get_subcommands().map(clap::Command::get_name).collect();
    if names.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!("no page for '{text}': the subcommands are {}", names.join(", ")))
    }
}
