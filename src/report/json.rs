//! The JSON report: one object whose names scripts depend on (docs/headless.md, "JSON contract").

use serde_json::{json, Value};

use crate::engine::plan::runtime::Runtime;
use crate::engine::Plan;
use crate::engine::{RunReport, WorkerReport};

#[must_use]
pub(crate) fn to_json(report: &RunReport) -> Value {
    let mut metrics = json!({
        "checksum": report.checksum,
        "expected_checksum": report.expected_checksum,
        "startup_median_seconds": report.median_startup_seconds(),
    });
    if let Some(object) = metrics.as_object_mut() {
        object.extend(report.metrics.json());
        if report.plan.respawn {
            let replaced: Vec<Value> = report
                .replaced
                .iter()
                .map(|(index, outcome)| json!({"index": index, "outcome": outcome.to_string()}))
                .collect();
            object.insert("replaced_workers".into(), replaced.len().into());
            object.insert("replaced".into(), replaced.into());
        }
        if !report.respawn_failures.is_empty() {
            let failures: Vec<Value> =
                report.respawn_failures.iter().map(|(index, error)| json!({"index": index, "error": error})).collect();
            object.insert("respawn_failures".to_owned(), failures.into());
        }
    }
    json!({
        "plan": plan_json(&report.plan),
        "outcome": report.outcome.name(),
        "wall_seconds": report.wall_seconds,
        "cpu_seconds": report.cpu_seconds,
        "peak_rss_bytes": report.peak_rss_bytes,
        "tasks_done": report.tasks_done,
        "observer": report.observer.name(),
        "waiting_for_cpu_share": report.waiting_for_cpu_share(),
        "workers": report.workers.iter().map(worker_json).collect::<Vec<_>>(),
        "metrics": metrics,
    })
}

fn plan_json(plan: &Plan) -> Value {
    json!({
        "workload": plan.workload.kind.name(),
        "model": plan.model.name(),
        "workers": plan.workers,
        "tasks": plan.tasks,
        "size": plan.workload.size,
        "affinity": plan.affinity.to_string(),
        "gil": plan.gil.is_some(),
        "switch_interval_ms": plan.gil.map(|interval| interval.as_secs_f64() * 1e3),
        "schedule": plan.schedule,
        "chunk": plan.chunk,
        "drain": plan.drain,
        "grace_seconds": plan.grace.as_secs_f64(),
        "start": plan.start,
        "respawn": plan.respawn,
        "runtime": runtime_json(&plan.runtime),
    })
}

/// `{"kind": "native"}`, or the interpreter: its version, build and GIL.
pub(crate) fn runtime_json(runtime: &Runtime) -> Value {
    match runtime.interpreter() {
        None => json!({ "kind": runtime.kind() }),
        Some(python) => json!({
            "kind": runtime.kind(),
            "interpreter": python.label(),
            "implementation": python.implementation,
            "version": format!("{}.{}.{}", python.version.0, python.version.1, python.version.2),
            "free_threaded": python.free_threaded,
            "gil": python.gil,
            "path": python.path,
        }),
    }
}

fn worker_json(worker: &WorkerReport) -> Value {
    let mut value = json!({
        "index": worker.index,
        "pid": worker.pid,
        "tid": worker.tid,
        "outcome": worker.outcome.name(),
        "tasks_done": worker.tasks_done,
        "cpu_seconds": worker.cpu_seconds,
        "cores": worker.cores,
        "lock_wait_seconds": worker.lock_wait_seconds,
        "waiting_for_cpu_seconds": worker.waiting_for_cpu_seconds,
        "startup_seconds": worker.startup_seconds,
        "metrics": {
            "busy_seconds": worker.busy_seconds,
            "idle_seconds": worker.idle_seconds,
        },
    });
    if worker.rss_bytes > 0 {
        value["metrics"]["rss_bytes"] = worker.rss_bytes.into();
        value["metrics"]["pss_bytes"] = worker.pss_bytes.into();
    }
    if let Some(object) = value.as_object_mut() {
        if let Some(signal) = worker.outcome.signal() {
            object.insert("signal".into(), signal.as_str().into());
        }
        if let Some(message) = worker.outcome.panic_message() {
            object.insert("panic".into(), message.into());
        }
        if let Some(reason) = worker.outcome.failure_reason() {
            object.insert("error".into(), reason.into());
        }
        if let Some(code) = worker.outcome.exit_code() {
            object.insert("exit_code".into(), code.into());
        }
        if let Some(traceback) = &worker.traceback {
            object.insert("traceback".into(), traceback.as_str().into());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Model, PlanRequest, RunOutcome, Schedule};
    use crate::workload::by_name;

    fn crash_report(respawn_failures: Vec<(usize, String)>) -> RunReport {
        let plan = PlanRequest {
            workers: Some(2),
            schedule: Schedule::Dynamic,
            respawn: true,
            ..PlanRequest::new(by_name("crash").expect("crash"), Model::Processes)
        }
        .validate()
        .expect("plan");
        RunReport {
            outcome: RunOutcome::Failed,
            wall_seconds: 1.0,
            cpu_seconds: 1.0,
            tasks_done: 7,
            respawn_failures,
            ..RunReport::empty(plan)
        }
    }

    #[test]
    fn respawn_failures_are_listed_only_when_there_are_some() {
        let failed = to_json(&crash_report(vec![(0, "fork failed: EAGAIN: Try again".into())]));
        assert_eq!(
            failed["metrics"]["respawn_failures"],
            json!([{"index": 0, "error": "fork failed: EAGAIN: Try again"}])
        );
        assert_eq!(failed["metrics"]["replaced_workers"], json!(0));
        assert_eq!(failed["metrics"]["replaced"], json!([]));
        let none = to_json(&crash_report(Vec::new()));
        assert!(none["metrics"].get("respawn_failures").is_none(), "{none}");
    }
}
