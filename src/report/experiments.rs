//! Presenting experiments ([`Judged`]): the claims table (claim, runs, figure, verdict) as
//! aligned text for the terminal and as Markdown, each verdict's sentence after it, and the JSON
//! with every run's report in `run --format json`'s shape. It only reads the experiments'
//! results; the formats themselves are `sheet` and `markdown`'s.

use std::fmt::Write;

use serde_json::{json, Value};

use super::markdown::to_markdown;
use super::sheet::{Align, Sheet};
use super::to_json;
use crate::experiments::course::Stage;
use crate::experiments::Judged;

/// What the verdict cell says: the verdict, or why there is none.
fn verdict_cell(judged: &Judged) -> String {
    match (&judged.verdict, &judged.unrun, judged.course.stage()) {
        (Some(verdict), ..) => verdict.outcome.text().to_owned(),
        (None, Some(_), _) => "not run".to_owned(),
        (None, None, Stage::Running | Stage::Stopped) => "stopped".to_owned(),
        (None, None, Stage::Done) => String::new(),
    }
}

/// The claims table: one row per experiment.
fn claims_sheet(judged: &[Judged]) -> Sheet {
    let mut sheet = Sheet::new(&[
        ("experiment", Align::Left),
        ("claim", Align::Left),
        ("runs", Align::Right),
        ("figure", Align::Left),
        ("verdict", Align::Left),
    ]);
    for entry in judged {
        let experiment = entry.course.experiment;
        let (done, total) = entry.course.progress();
        let runs = if done == total { total.to_string() } else { format!("{done} of {total}") };
        let figure = entry.verdict.as_ref().map(|verdict| verdict.figure.clone()).unwrap_or_default();
        sheet.push(vec![experiment.name.to_owned(), experiment.title.to_owned(), runs, figure, verdict_cell(entry)]);
    }
    sheet
}

/// Each experiment's sentence, or why it has none, one paragraph each.
fn sentences(judged: &[Judged], bullet: &str) -> String {
    let mut out = String::new();
    for entry in judged {
        let name = entry.course.experiment.name;
        let said = match (&entry.verdict, &entry.unrun) {
            (Some(verdict), _) => verdict.sentence.clone(),
            (None, Some(why)) => format!("Not run: {why}."),
            (None, None) => "Stopped before its runs were done: no verdict.".to_owned(),
        };
        let _ = writeln!(out, "{bullet}{name}: {said}");
    }
    out
}

/// For the terminal: the table, then each verdict in words.
#[must_use]
pub(crate) fn experiments_text(judged: &[Judged]) -> String {
    format!("{}\n{}", claims_sheet(judged).to_text(), sentences(judged, ""))
}

/// For notes and issues: the table with every run named, then each verdict in words.
#[must_use]
pub(crate) fn experiments_markdown(judged: &[Judged]) -> String {
    let mut sheet = claims_sheet(judged);
    // The runs named in full: text, not a count.
    if let Some(runs) = sheet.columns.get_mut(2) {
        runs.align = Align::Left;
    }
    for (row, entry) in sheet.rows.iter_mut().zip(judged) {
        row[2] = entry.course.experiment.runs_text();
    }
    format!("# concur-tui experiments\n\n{}\n{}", to_markdown(&sheet), sentences(judged, "- "))
}

/// Every experiment with its claim, runs, verdict and each run's report in `run`'s JSON shape.
#[must_use]
pub(crate) fn experiments_json(judged: &[Judged]) -> Value {
    let entries: Vec<Value> = judged
        .iter()
        .map(|entry| {
            let experiment = entry.course.experiment;
            let runs: Vec<Value> = entry
                .course
                .finished
                .iter()
                .map(|finished| {
                    json!({
                        "run": experiment.runs.get(finished.run).map(crate::experiments::RunSpec::label),
                        "busy": finished.busy,
                        "report": to_json(&finished.report),
                    })
                })
                .collect();
            json!({
                "name": experiment.name,
                "title": experiment.title,
                "claim": experiment.claim,
                "configurations": experiment.runs.iter().map(crate::experiments::RunSpec::label).collect::<Vec<_>>(),
                "rounds": experiment.rounds,
                "verdict": entry.verdict.as_ref().map(|verdict| verdict.outcome),
                "figure": entry.verdict.as_ref().map(|verdict| verdict.figure.clone()),
                "sentence": entry.verdict.as_ref().map(|verdict| verdict.sentence.clone()),
                "not_run": entry.unrun,
                "runs": runs,
            })
        })
        .collect();
    json!({ "experiments": entries })
}
