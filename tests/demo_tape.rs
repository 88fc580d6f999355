//! Replays `demo.tape` against the real binary in a pseudo-terminal: its `Type`, `Enter`, key,
//! `Ctrl+C` and `Sleep` lines are sent as they are, its `Wait+Screen` lines become checks of
//! the screen, and the run must end with a clean exit and nothing left behind. VHS itself is
//! not installable here; this keeps the recorded demo honest.

mod common;

use std::time::Duration;

use common::pty::Dashboard;

/// One step of the tape, as far as the replay cares.
#[derive(Debug, PartialEq)]
enum Step {
    Launch(Vec<String>),
    Keys(String),
    Sleep(Duration),
    WaitFor(String),
}

/// Longest sleep the replay honours: the tape's pauses are for viewers; `Wait+Screen` syncs.
const MAX_SLEEP: Duration = Duration::from_millis(300);

fn parse(tape: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut hidden = false;
    let mut launched = false;
    let mut pending_command: Option<String> = None;
    for line in tape.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match command {
            "Hide" => hidden = true,
            "Show" => hidden = false,
            "Output" | "Set" | "Require" | "Source" | "Env" => {}
            _ if hidden => {}
            _ if command.starts_with("Type") => {
                let text = rest.trim_matches('"').to_owned();
                if launched {
                    steps.push(Step::Keys(text));
                } else {
                    pending_command = Some(text);
                }
            }
            "Enter" if !launched => {
                let command = pending_command.take().expect("the tape types its launch command first");
                let mut words = command.split_whitespace();
                let program = words.next().expect("a program");
                assert!(program.ends_with("concur-tui"), "the tape launches {program}");
                steps.push(Step::Launch(words.map(str::to_owned).collect()));
                launched = true;
            }
            "Sleep" => steps.push(Step::Sleep(parse_duration(rest))),
            _ if command.starts_with("Wait") => {
                let pattern = rest.rsplit_once('/').and_then(|(head, _)| head.split_once('/')).map(|(_, p)| p);
                steps.push(Step::WaitFor(pattern.expect("Wait+Screen /text/").to_owned()));
            }
            "Ctrl+C" => steps.push(Step::Keys("\x03".into())),
            key => {
                let sequence = match key {
                    "Enter" => "\r",
                    "Tab" => "\t",
                    "Space" => " ",
                    "Escape" => "\x1b",
                    "Up" => "\x1b[A",
                    "Down" => "\x1b[B",
                    "Right" => "\x1b[C",
                    "Left" => "\x1b[D",
                    other => panic!("the replay does not know the tape command {other:?}"),
                };
                let count: usize = if rest.is_empty() { 1 } else { rest.parse().expect("a repeat count") };
                for _ in 0..count {
                    steps.push(Step::Keys(sequence.to_owned()));
                }
            }
        }
    }
    steps
}

fn parse_duration(text: &str) -> Duration {
    if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.parse().expect("milliseconds"))
    } else if let Some(s) = text.strip_suffix('s') {
        Duration::from_secs_f64(s.parse().expect("seconds"))
    } else {
        panic!("cannot read the duration {text:?}")
    }
}

#[test]
fn the_parser_reads_the_tape_commands() {
    let steps = parse("Hide\nType \"make\"\nEnter\nShow\nType \"concur-tui --grace 1s\"\nEnter\nDown 2\nCtrl+C\nSleep 500ms\nWait+Screen@10s /DRAINING/\n");
    assert_eq!(
        steps,
        vec![
            Step::Launch(vec!["--grace".into(), "1s".into()]),
            Step::Keys("\x1b[B".into()),
            Step::Keys("\x1b[B".into()),
            Step::Keys("\x03".into()),
            Step::Sleep(Duration::from_millis(500)),
            Step::WaitFor("DRAINING".into()),
        ]
    );
}

#[test]
fn the_demo_tape_plays_through_to_a_clean_exit() {
    let tape = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/demo.tape")).expect("demo.tape");
    let steps = parse(&tape);
    let Some(Step::Launch(args)) = steps.first() else { panic!("the tape never launches concur-tui") };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut dashboard = Dashboard::start(&args, 140, 40);
    let mut checks = 0;
    for step in &steps[1..] {
        match step {
            Step::Keys(keys) => dashboard.send(keys),
            Step::Sleep(duration) => std::thread::sleep((*duration).min(MAX_SLEEP)),
            Step::WaitFor(text) => {
                dashboard.wait_for(text);
                checks += 1;
            }
            Step::Launch(_) => panic!("the tape launches twice"),
        }
    }
    assert!(checks >= 5, "the tape checks too little");
    assert_eq!(dashboard.wait_exit(), 130);
    dashboard.assert_terminal_restored();
    common::assert_no_leftovers(&dashboard.tag);
}
