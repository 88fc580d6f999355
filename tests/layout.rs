//! The layout sections of `DESIGN.md` and `docs/how-it-works.md` name what `src/` holds: every
//! path they list exists, DESIGN.md lists every source file, how-it-works.md every top-level entry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The first fenced block after `heading` in `file`.
fn layout_block(file: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("readable");
    let after = &text[text.find(heading).unwrap_or_else(|| panic!("{file} has no {heading}"))..];
    let start = after.find("```\n").expect("a fenced block") + 4;
    let end = after[start..].find("```").expect("a closed block");
    after[start..start + end].to_owned()
}

/// Every path a layout tree names, resolved from its indentation. A line is a path line when
/// everything before its first double space is paths (`x.rs`, `dir/`, `dir/x.rs`), separated by
/// single spaces; other lines continue a description.
fn listed_paths(block: &str) -> Vec<PathBuf> {
    let mut folders: Vec<(usize, String)> = Vec::new();
    let mut paths = Vec::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        let names = line.trim_start().split("  ").next().unwrap_or_default();
        let tokens: Vec<&str> = names.split(' ').filter(|token| !token.is_empty()).collect();
        let is_path = |token: &&str| {
            token.ends_with('/') || Path::new(token).extension().is_some_and(|ext| ext.eq_ignore_ascii_case("rs"))
        };
        if tokens.is_empty() || !tokens.iter().all(is_path) {
            continue;
        }
        while folders.last().is_some_and(|(depth, _)| *depth >= indent) {
            folders.pop();
        }
        let parent: PathBuf = folders.iter().map(|(_, name)| name.as_str()).collect();
        for token in &tokens {
            paths.push(parent.join(token.trim_end_matches('/')));
        }
        if let [folder] = tokens.as_slice() {
            if folder.ends_with('/') {
                folders.push((indent, folder.trim_end_matches('/').to_owned()));
            }
        }
    }
    paths
}

/// Every `.rs` file under `src/`, relative to the crate.
fn source_files(dir: &Path, into: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable").filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.insert(path.strip_prefix(env!("CARGO_MANIFEST_DIR")).expect("inside").to_owned());
        }
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn design_names_every_source_file_and_nothing_else() {
    let listed = listed_paths(&layout_block("DESIGN.md", "## Layout"));
    let missing: Vec<_> = listed.iter().filter(|path| !root().join(path).exists()).collect();
    assert!(missing.is_empty(), "DESIGN.md's layout names what is not there: {missing:?}");
    let mut files = BTreeSet::new();
    source_files(&root().join("src"), &mut files);
    let named: BTreeSet<_> = listed.into_iter().collect();
    let unnamed: Vec<_> = files.difference(&named).collect();
    assert!(unnamed.is_empty(), "DESIGN.md's layout leaves out {unnamed:?}");
}

#[test]
fn how_it_works_names_every_top_level_entry_of_src() {
    let listed = listed_paths(&layout_block("docs/how-it-works.md", "# How it works"));
    let missing: Vec<_> = listed.iter().filter(|path| !root().join(path).exists()).collect();
    assert!(missing.is_empty(), "how-it-works.md's layout names what is not there: {missing:?}");
    let named: BTreeSet<_> = listed.into_iter().collect();
    let unnamed: Vec<_> = std::fs::read_dir(root().join("src"))
        .expect("readable")
        .filter_map(Result::ok)
        .map(|entry| Path::new("src").join(entry.file_name()))
        .filter(|path| !named.contains(path))
        .collect();
    assert!(unnamed.is_empty(), "how-it-works.md's layout leaves out {unnamed:?}");
}

#[test]
fn a_tree_resolves_folders_by_indentation() {
    let paths = listed_paths("src/\n  a.rs b.rs  two files\n  d/\n    x.rs      in d\n  e/f.rs\nbenches/\n");
    let expected: Vec<PathBuf> = ["src", "src/a.rs", "src/b.rs", "src/d", "src/d/x.rs", "src/e/f.rs", "benches"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(paths, expected);
}

#[test]
fn the_engine_is_three_folders_and_its_imports_run_one_way() {
    let engine = root().join("src/engine");
    let mut entries: Vec<String> = std::fs::read_dir(&engine)
        .expect("readable")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["mod.rs", "plan", "run", "workers"]);
    // plan/ comes first, then workers/, then run/: none may name a later one. The engine's own
    // facade (`crate::engine::Engine`, its re-exports) is above all three, so it counts as later.
    let later_than = |folder: &str| -> Vec<&'static str> {
        match folder {
            "plan" => vec![
                "engine::workers",
                "engine::run",
                "super::workers",
                "super::run",
                "crate::engine::{",
                "engine::Engine",
            ],
            _ => vec!["engine::run", "super::run", "crate::engine::{", "engine::Engine", "engine::Run"],
        }
    };
    for folder in ["plan", "workers"] {
        let mut files = BTreeSet::new();
        source_files(&engine.join(folder), &mut files);
        for file in files {
            let text = std::fs::read_to_string(root().join(&file)).expect("readable");
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for later in later_than(folder) {
                    assert!(
                        !code.contains(later),
                        "{}:{}: {folder}/ imports a later layer: {line}",
                        file.display(),
                        number + 1
                    );
                }
            }
        }
    }
}
