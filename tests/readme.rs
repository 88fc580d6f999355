//! The README and the pages under `docs/` keep their promises in a fresh clone: every link and
//! every repository path they name exists, none points outside the repository, and the
//! headless commands the README shows run and succeed.

mod common;

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README, DESIGN.md and every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("DESIGN.md")];
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/");
    pages.extend(
        docs.filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("md"))),
    );
    pages.sort();
    pages
}

/// The targets of the page's Markdown links and images: `[text](target)`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        if let Some(end) = after.find(')') {
            targets.push(after[..end].to_owned());
        }
        rest = after;
    }
    targets
}

/// Repository paths the page names in backticks: `src/…`, `tests/…`, `benches/…`, `docs/…`.
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| {
            ["src/", "tests/", "benches/", "docs/", ".ci/"].iter().any(|prefix| quoted.starts_with(prefix))
                && quoted.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_link_and_named_path_exists_inside_the_repository() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("readable");
        let dir = page.parent().expect("a folder");
        for target in link_targets(&text) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with('#') {
                continue;
            }
            let path = dir.join(target.split('#').next().unwrap_or_default());
            let inside = path.canonicalize().is_ok_and(|real| real.starts_with(root()));
            if !inside {
                broken.push(format!("{}: link {target}", page.display()));
            }
        }
        for named in named_paths(&text) {
            if !root().join(&named).exists() {
                broken.push(format!("{}: path {named}", page.display()));
            }
        }
        if text.contains("../shared") || text.contains("/work/") {
            broken.push(format!("{}: a path outside the repository", page.display()));
        }
    }
    assert!(broken.is_empty(), "broken: {broken:#?}");
}

/// The `sh` block under the README's "## Headless": each line is one command of the binary.
fn headless_commands() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("readable");
    let section = &text[text.find("## Headless").expect("a Headless section")..];
    let start = section.find("```sh\n").expect("an sh block") + 6;
    let end = section[start..].find("```").expect("closed");
    section[start..start + end]
        .lines()
        .filter_map(|line| line.trim().strip_prefix("concur-tui "))
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_readmes_headless_commands_run_and_succeed() {
    let commands = headless_commands();
    assert!(commands.len() >= 3, "too few commands found: {commands:?}");
    for args in commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = common::run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "concur-tui {}: {stderr}", args.join(" "));
        assert!(!output.stdout.is_empty(), "concur-tui {} printed nothing", args.join(" "));
    }
}

#[test]
fn the_link_reader_finds_links_images_and_paths() {
    let text = "see [a](docs/a.md), ![b](b.png#x) and `src/main.rs`, not `concur-tui run`";
    assert_eq!(link_targets(text), ["docs/a.md", "b.png#x"]);
    assert_eq!(named_paths(text), ["src/main.rs"]);
}
