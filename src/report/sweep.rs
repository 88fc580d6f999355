//! Presenting a sweep ([`Results`]): the table of points (for people and for spreadsheets), the
//! Amdahl fits, hyperfine's summary, the warnings, as text for the terminal, Markdown, CSV and
//! JSON. It only reads the results; the formats themselves are `sheet`, `csv` and `markdown`'s.

use std::fmt::Write;

use serde_json::{json, Value};

use super::csv::to_csv;
use super::markdown::to_markdown;
use super::sheet::{Align, Sheet, Style};
use crate::sweep::{BenchModel, Config, Point, Results};

/// What was swept, in one line: `cpu · 8 task(s) of 20M ints · workers 1,2 · 3 runs per point`.
#[must_use]
pub(crate) fn bench_heading(results: &Results) -> String {
    let base = &results.spec.base;
    let size = size_spec(base);
    let mut line = format!(
        "{} · {} · {} task(s) of {} · schedule {} · affinity {}",
        base.workload.name(),
        super::runtime_text(&base.runtime),
        base.tasks,
        size.show(base.size.unwrap_or(size.default)),
        schedule_name(base.schedule),
        base.affinity
    );
    for (flag, value) in &base.options {
        let _ = write!(line, " · --{flag} {value}");
    }
    if let Some(python) = base.runtime.interpreter() {
        let _ = write!(line, " · {} · GIL {}", python.label(), if python.gil { "on" } else { "off" });
    }
    let counts = results.points.iter().map(|point| point.runs.len());
    let (fewest, most) = (counts.clone().min().unwrap_or(0), counts.max().unwrap_or(0));
    if fewest == most {
        let _ = write!(line, " · {most} run(s) per point");
    } else {
        let _ = write!(line, " · {fewest} to {most} runs per point");
    }
    if results.spec.warmup > 0 {
        let _ = write!(line, " after {} warm-up round(s)", results.spec.warmup);
    }
    line
}

/// The size's unit and default: the Python twin's under Python.
fn size_spec(base: &crate::engine::PlanRequest) -> crate::workload::SizeSpec {
    match (base.runtime.interpreter(), base.workload.python()) {
        (Some(_), Some(twin)) => twin.size,
        _ => base.workload.size(),
    }
}

fn schedule_name(schedule: crate::engine::Schedule) -> &'static str {
    match schedule {
        crate::engine::Schedule::Static => "static",
        crate::engine::Schedule::Dynamic => "dynamic",
    }
}

/// One row per point. `Human`: times in a unit that fits, `±`; `Data`: seconds and ratios as
/// plain numbers, in columns named with their unit.
#[must_use]
pub(crate) fn points_sheet(results: &Results, style: Style) -> Sheet {
    use Align::{Left, Right};
    let mut sheet = match style {
        Style::Human => Sheet::new(&[
            ("model", Left),
            ("workers", Right),
            ("mean ± σ", Right),
            ("median", Right),
            ("min", Right),
            ("max", Right),
            ("speedup", Right),
            ("efficiency", Right),
            ("Karp-Flatt", Right),
            ("runs", Right),
        ]),
        Style::Data => Sheet::new(&[
            ("model", Left),
            ("workers", Right),
            ("runs", Right),
            ("mean_s", Right),
            ("stddev_s", Right),
            ("median_s", Right),
            ("min_s", Right),
            ("max_s", Right),
            ("speedup", Right),
            ("speedup_uncertainty", Right),
            ("efficiency", Right),
            ("karp_flatt", Right),
            ("outliers", Right),
            ("others_load_cores", Right),
            ("runtime", Left),
            ("interpreter", Left),
        ]),
    };
    for point in &results.points {
        sheet.push(match style {
            Style::Human => human_row(point),
            Style::Data => data_row(point, &results.spec.request(point.config).runtime),
        });
    }
    sheet
}

fn human_row(point: &Point) -> Vec<String> {
    let dash = || "—".to_owned();
    let time = point.time;
    let unit = time.map_or(Unit::Seconds, |time| Unit::of(time.mean));
    let runs = if point.outliers.is_empty() {
        point.runs.len().to_string()
    } else {
        format!("{} ({} outlier)", point.runs.len(), point.outliers.len())
    };
    vec![
        point.config.model.name().to_owned(),
        point.config.workers.to_string(),
        time.map_or_else(dash, |t| format!("{} ± {}", unit.show(t.mean, true), unit.show(t.stddev, false))),
        time.map_or_else(dash, |t| unit.show(t.median, true)),
        time.map_or_else(dash, |t| unit.show(t.min, true)),
        time.map_or_else(dash, |t| unit.show(t.max, true)),
        point.speedup.map_or_else(dash, |s| format!("{:.2} ± {:.2}", s.value, s.uncertainty)),
        point.efficiency.map_or_else(dash, |e| format!("{:.0}%", e * 100.0)),
        point.karp_flatt.map_or_else(dash, |e| format!("{e:.3}")),
        runs,
    ]
}

fn data_row(point: &Point, runtime: &crate::engine::plan::runtime::Runtime) -> Vec<String> {
    let number = |value: Option<f64>| value.map_or_else(String::new, |value| format!("{value:.6}"));
    let time = point.time;
    vec![
        point.config.model.name().to_owned(),
        point.config.workers.to_string(),
        point.runs.len().to_string(),
        number(time.map(|t| t.mean)),
        number(time.map(|t| t.stddev)),
        number(time.map(|t| t.median)),
        number(time.map(|t| t.min)),
        number(time.map(|t| t.max)),
        number(point.speedup.map(|s| s.value)),
        number(point.speedup.map(|s| s.uncertainty)),
        number(point.efficiency),
        number(point.karp_flatt),
        point.outliers.len().to_string(),
        number(point.others_load),
        runtime.kind().to_owned(),
        runtime.interpreter().map_or_else(String::new, |_| super::runtime_text(runtime)),
    ]
}

/// One unit for every figure of a row, picked from its mean, as hyperfine does.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Millis,
    Seconds,
}

impl Unit {
    fn of(seconds: f64) -> Self {
        if seconds < 1.0 {
            Self::Millis
        } else {
            Self::Seconds
        }
    }

    fn show(self, seconds: f64, with_unit: bool) -> String {
        let (value, unit) = match self {
            Self::Millis => (format!("{:.1}", seconds * 1e3), "ms"),
            Self::Seconds => (format!("{seconds:.3}"), "s"),
        };
        if with_unit {
            format!("{value} {unit}")
        } else {
            value
        }
    }
}

/// The Amdahl fits, one line per model: `threads: serial fraction 0.021 (at most 47.6× faster…`.
#[must_use]
pub(crate) fn fit_lines(results: &Results) -> Vec<String> {
    results
        .fits
        .iter()
        .map(|(model, fit)| {
            let limit =
                fit.limit().map_or_else(|| "no limit".to_owned(), |limit| format!("at most {limit:.1}× faster"));
            format!(
                "{}: serial fraction {:.3} ({limit}; the speedups sit {:.2} from the curve on average)",
                model.name(),
                fit.serial_fraction,
                fit.rms_error
            )
        })
        .collect()
}

/// hyperfine's summary: the fastest point, then how many times faster it ran than each other.
#[must_use]
pub(crate) fn summary_lines(results: &Results) -> Vec<String> {
    let Some(comparison) = results.comparison() else { return Vec::new() };
    let mut lines = vec![format!("{} ran", comparison.fastest)];
    lines.extend(
        comparison.against.iter().map(|(config, ratio)| {
            format!("  {:.2} ± {:.2} times faster than {config}", ratio.value, ratio.uncertainty)
        }),
    );
    lines
}

/// CPython's threads beside native threads with the emulated lock, at each worker count both
/// were swept at, each speedup over its own runtime's baseline, and whether they agree
/// (within [`AGREE_WITHIN`](super::compare::AGREE_WITHIN)): `CPython 3.11 threads × 2: 0.98×;
/// emulated lock: 0.95×, within 10%`.
#[must_use]
pub(crate) fn gil_lines(results: &Results) -> Vec<String> {
    let Some(python) = &results.spec.python else { return Vec::new() };
    let words = super::interpreter_words(&crate::engine::plan::runtime::Runtime::Python(python.interpreter.clone()))
        .unwrap_or_else(|| "Python".to_owned());
    let speedup = |model, workers| results.point(Config { model, workers }).and_then(|point| point.speedup);
    results
        .spec
        .workers
        .iter()
        .filter_map(|&workers| {
            let real = speedup(BenchModel::PythonThreads, workers)?.value;
            let emulated = speedup(BenchModel::ThreadsGil, workers)?.value;
            let percent = super::compare::AGREE_WITHIN * 100.0;
            let verdict = if super::compare::agree(real, emulated) {
                format!("within {percent:.0}%")
            } else {
                format!("they differ by more than {percent:.0}%")
            };
            Some(format!("{words} threads × {workers}: {real:.2}×; emulated lock: {emulated:.2}×, {verdict}"))
        })
        .collect()
}

/// The whole sweep for the terminal: heading, table, fits, summary, warnings.
#[must_use]
pub(crate) fn bench_text(results: &Results) -> String {
    let mut out = format!("{}\n\n", bench_heading(results));
    out.push_str(&points_sheet(results, Style::Human).to_text());
    let fits = fit_lines(results);
    if !fits.is_empty() {
        out.push_str("\nAmdahl's law fitted to each model (S(p) = 1 / (s + (1 − s) / p)):\n");
        for line in fits {
            let _ = writeln!(out, "  {line}");
        }
    }
    let summary = summary_lines(results);
    if !summary.is_empty() {
        out.push_str("\nSummary\n");
        for line in summary {
            let _ = writeln!(out, "  {line}");
        }
    }
    let gil = gil_lines(results);
    if !gil.is_empty() {
        out.push_str("\nThe real GIL beside the emulated lock (each over its own sequential baseline):\n");
        for line in gil {
            let _ = writeln!(out, "  {line}");
        }
    }
    for warning in &results.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    out
}

/// The sweep as a Markdown document: the same parts as the text, the table as a table.
#[must_use]
pub(crate) fn bench_markdown(results: &Results) -> String {
    let mut out = format!("## concur-tui bench: {}\n\n", bench_heading(results));
    out.push_str(&to_markdown(&points_sheet(results, Style::Human)));
    let fits = fit_lines(results);
    if !fits.is_empty() {
        out.push_str("\nAmdahl's law fitted to each model:\n\n");
        for line in fits {
            let _ = writeln!(out, "- {line}");
        }
    }
    let summary = summary_lines(results);
    if let Some((first, rest)) = summary.split_first() {
        let _ = writeln!(out, "\n**{first}**\n");
        for line in rest {
            let _ = writeln!(out, "- {}", line.trim());
        }
    }
    let gil = gil_lines(results);
    if !gil.is_empty() {
        out.push_str("\nThe real GIL beside the emulated lock (each over its own sequential baseline):\n\n");
        for line in gil {
            let _ = writeln!(out, "- {line}");
        }
    }
    for warning in &results.warnings {
        let _ = writeln!(out, "\n> **Warning**: {warning}");
    }
    out
}

/// One row per point, for spreadsheets.
#[must_use]
pub(crate) fn bench_csv(results: &Results) -> String {
    to_csv(&points_sheet(results, Style::Data))
}

/// Every point with every single run, the fits, the comparison and the warnings.
#[must_use]
pub(crate) fn bench_json(results: &Results) -> Value {
    let base = &results.spec.base;
    let points: Vec<Value> = results
        .points
        .iter()
        .map(|point| {
            let time = point.time;
            json!({
                "model": point.config.model.name(),
                "runtime": results.spec.request(point.config).runtime.kind(),
                "workers": point.config.workers,
                "gil": point.config.model.gil(),
                "mean": time.map(|t| t.mean),
                "stddev": time.map(|t| t.stddev),
                "median": time.map(|t| t.median),
                "min": time.map(|t| t.min),
                "max": time.map(|t| t.max),
                "speedup": point.speedup.map(|s| s.value),
                "speedup_uncertainty": point.speedup.map(|s| s.uncertainty),
                "efficiency": point.efficiency,
                "karp_flatt": point.karp_flatt,
                "others_load_cores": point.others_load,
                "outliers": point.outliers,
                "times": point.runs.iter().map(|run| run.wall_seconds).collect::<Vec<_>>(),
                "runs": point.runs,
            })
        })
        .collect();
    let fits: Vec<Value> = results
        .fits
        .iter()
        .map(|(model, fit)| {
            json!({
                "model": model.name(),
                "serial_fraction": fit.serial_fraction,
                "limit": fit.limit(),
                "rms_error": fit.rms_error,
            })
        })
        .collect();
    let summary = results.comparison().map(|comparison| {
        json!({
            "fastest": {"model": comparison.fastest.model.name(), "workers": comparison.fastest.workers},
            "faster_than": comparison.against.iter().map(|(config, ratio)| json!({
                "model": config.model.name(),
                "workers": config.workers,
                "times": ratio.value,
                "uncertainty": ratio.uncertainty,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "workload": base.workload.name(),
        "tasks": base.tasks,
        "size": base.size.unwrap_or(size_spec(base).default),
        "options": base.options.iter().map(|(flag, value)| (flag.clone(), Value::from(value.as_str()))).collect::<serde_json::Map<String, Value>>(),
        "schedule": schedule_name(base.schedule),
        "affinity": base.affinity.to_string(),
        "runtime": super::json::runtime_json(&base.runtime),
        "warmup": results.spec.warmup,
        "results": points,
        "fits": fits,
        "summary": summary,
        "warnings": results.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Model, PlanRequest};
    use crate::sweep::{Results, Runs, Sample, SweepSpec};
    use crate::workload::by_name;

    fn sample(round: usize, wall: f64, others: f64) -> Sample {
        Sample {
            round,
            wall_seconds: wall,
            cpu_seconds: wall * 0.9,
            lock_wait_seconds: 0.0,
            startup_seconds: Some(0.000_2),
            tasks_done: 8,
            checksum_ok: Some(true),
            others_cpu_seconds: Some(others),
            metrics: serde_json::Map::new(),
        }
    }

    /// A fixed sweep: sequential, threads and threads with the lock at 1 and 2 workers, three
    /// runs each, one of them an outlier, on a machine that was busy.
    pub(crate) fn fixed_results() -> Results {
        let spec = SweepSpec {
            base: PlanRequest {
                tasks: 8,
                size: Some(2_000_000),
                ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
            },
            models: vec![BenchModel::Threads, BenchModel::ThreadsGil],
            workers: vec![1, 2],
            runs: Runs::Fixed(3),
            warmup: 1,
            python: None,
        };
        let configs = spec.configs();
        let walls: [&[f64]; 5] =
            [&[1.00, 1.02, 0.98], &[1.01, 0.99, 1.00], &[0.52, 0.50, 0.51], &[1.05, 1.03, 1.04], &[1.10, 1.08, 1.12]];
        let mut samples: Vec<Vec<Sample>> = walls
            .iter()
            .map(|runs| runs.iter().enumerate().map(|(round, &wall)| sample(round, wall, 0.4 * wall)).collect())
            .collect();
        samples[2].extend(
            [0.51, 0.50, 0.52, 2.0].iter().enumerate().map(|(round, &wall)| sample(round + 3, wall, 0.4 * wall)),
        );
        let results = Results::new(&spec, &configs, &samples, None);
        assert_eq!(results.point(Config { model: BenchModel::Threads, workers: 2 }).map(|p| p.outliers.len()), Some(1));
        results
    }

    #[test]
    fn the_text_report_has_the_table_fits_summary_and_warnings() {
        insta::assert_snapshot!(bench_text(&fixed_results()));
    }

    #[test]
    fn markdown_export() {
        insta::assert_snapshot!(bench_markdown(&fixed_results()));
    }

    #[test]
    fn csv_export() {
        insta::assert_snapshot!(bench_csv(&fixed_results()).replace("\r\n", "\n"));
    }

    #[test]
    fn json_export_holds_every_run() {
        let json = bench_json(&fixed_results());
        insta::assert_snapshot!(format!("{json:#}"));
    }
}
