//! `net`: the articles' download task for real. A service of the run (an HTTP server, hyper on
//! its own thread and tokio runtime, on a loopback port the OS picks) serves seeded bodies of
//! `--size` KiB after `--server-delay`, like a slow site; each task downloads one with a real
//! client (ureq, blocking, for threads and processes; hyper inside the event loop for the async
//! model) and checks it. The server is the program's: forked workers only inherit its address,
//! and never touch its runtime.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::kind::{Kind, OptionError, OptionSpec, Options, PythonTwin, Setup, Shape, SizeSpec, Values};
use super::task::{
    awaiting, fields_of, AsyncHooks, AsyncWorkload, Flow, Hooks, LiveCells, LocalFuture, Metrics, RunCells, ServedWorkload, Service, Stopping,
    TaskEnd, Workload,
};

/// The catalog entry.
pub(super) struct Net;

/// The longest `--server-delay` taken: a request past it would outlast any sensible grace.
const MAX_DELAY_MS: u64 = 10_000;

impl Kind for Net {
    fn name(&self) -> &'static str {
        "net"
    }

    fn summary(&self) -> &'static str {
        "downloads from a real HTTP server on loopback: waits overlap until the server or link saturates"
    }

    fn explanation(&self) -> &'static str {
        "Each task downloads one body from an HTTP server this program runs on loopback, which \
         answers after a delay like a slow site, and checks it. Threads overlap the \
         waits: eight download in about the time of one, until the server or the link \
         saturates. Processes overlap too, at a higher start-up and memory price. With the async \
         model one thread holds every download. The report gives MB/s and the mean request time."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "KiB per body",
            short_unit: "KiB",
            default: 64,
            watchable: 256,
            // 64 downloads in flight hold 2 GiB between the server and the workers.
            max: Some(16_384),
            in_millions: false,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[OptionSpec {
            flag: "server-delay",
            help: "milliseconds the server waits before it answers each request (at most 10000)",
            values: Values::Number { from: 0 },
            default: Some("100"),
        }]
    }

    fn check(&self, options: &mut Options, _shape: &Shape) -> Result<(), OptionError> {
        let delay = options.number("server-delay");
        if delay > MAX_DELAY_MS {
            return Err(OptionError::Refused(format!(
                "--server-delay {delay} is more than {MAX_DELAY_MS} ms: a slow site, not a dead one"
            )));
        }
        Ok(())
    }

    fn watchable_options(&self) -> &'static [(&'static str, &'static str)] {
        // 16 tasks on two workers: eight waits of 500 ms each, about 4 s.
        &[("server-delay", "500")]
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Download {
            bytes: setup.size * 1024,
            delay: Duration::from_millis(setup.options.number("server-delay")),
            server: OnceLock::new(),
        })
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin { source: PYTHON_TWIN, size: self.size(), on_event_loop: true })
    }
}

/// The same downloads from the run's server: `urllib.request.urlopen` (no proxy: the server is
/// on loopback) in threads and processes, a hand-written HTTP/1.1 GET on asyncio's streams on
/// the loop. The same checks and digests (xorshift64* bodies, FNV-1a over 8-byte words), and
/// the same cells: bytes in the shared counter, each request's time in the worker's own.
const PYTHON_TWIN: &str = r#"
import struct
import time
import urllib.error
import urllib.request

MASK = (1 << 64) - 1
FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def digest_of_body(task, length):
    """The digest of task `task`'s body, without making the body."""
    state, hash_ = (task * 0x9E3779B97F4A7C15 & MASK) | 1, FNV_BASIS ^ length
    words, tail = (length + 7) // 8, length % 8
    for at in range(words):
        state ^= state >> 12
        state ^= (state << 25) & MASK
        state ^= state >> 27
        word = (state * 0x2545F4914F6CDD1D) & MASK
        if tail and at == words - 1:
            word &= (1 << (8 * tail)) - 1
        hash_ = ((hash_ ^ word) * FNV_PRIME) & MASK
    return hash_


def digest(body):
    hash_ = FNV_BASIS ^ len(body)
    if len(body) % 8:
        body = body + bytes(8 - len(body) % 8)
    for (word,) in struct.iter_unpack("<Q", body):
        hash_ = ((hash_ ^ word) * FNV_PRIME) & MASK
    return hash_


def finish(index, size, got, took, h):
    """Checks a downloaded body and counts it; its digest is the task's."""
    length = size * 1024
    got_digest = digest(got)
    if len(got) != length or got_digest != digest_of_body(index, length):
        raise RuntimeError("net: task {} got {} bytes that differ from what was served".format(index, len(got)))
    if not h.checkpoint(size):
        return None
    h.add_shared(length)
    h.add_own(took)
    return got_digest


def task(index, size, options, h):
    url = "http://{}/task/{}".format(h.context("server"), index)
    started = time.monotonic_ns()
    try:
        with h.blocked():
            with OPENER.open(url) as response:
                got = response.read()
    except (urllib.error.URLError, OSError) as error:
        # The server cuts its delay short once the run stops: a stop, not a failure.
        if not h.checkpoint(0):
            return None
        raise RuntimeError("net: task {}: {}".format(index, error)) from error
    return finish(index, size, got, time.monotonic_ns() - started, h)


async def fetch(address, index):
    """One GET on asyncio's streams: the status line, the headers, then the body."""
    import asyncio

    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        request = "GET /task/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n".format(index, address)
        writer.write(request.encode("ascii"))
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = head[0].split(" ")
        if len(status) < 2 or status[1] != "200":
            raise ConnectionError("status {}".format(" ".join(status[1:]) or "missing"))
        fields = dict(line.lower().split(":", 1) for line in head[1:] if ":" in line)
        length = fields.get("content-length")
        return await (reader.readexactly(int(length)) if length is not None else reader.read())
    finally:
        writer.close()


async def task_async(index, size, options, h):
    import asyncio

    started = time.monotonic_ns()
    try:
        with h.blocked():
            got = await fetch(h.context("server"), index)
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        if not h.checkpoint(0):
            return None
        raise RuntimeError("net: task {}: {}".format(index, error)) from error
    return finish(index, size, got, time.monotonic_ns() - started, h)
"#;

/// The workload: task `t` downloads `/task/t` and checks it is `body(t)`.
pub(super) struct Download {
    bytes: u64,
    delay: Duration,
    /// Where the run's server listens, set once it started; forked workers inherit it.
    server: OnceLock<SocketAddr>,
}

/// Task `task`'s body as 8-byte words (xorshift64*, seeded by the task), the last one cut to
/// the `len` bytes asked for: each word and how many of its bytes belong to the body.
fn words(task: u64, len: u64) -> impl Iterator<Item = ([u8; 8], usize)> {
    let mut state = task.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len.div_ceil(8)).map(move |at| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let take = (len - at * 8).min(8) as usize;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes(), take)
    })
}

/// Task `task`'s body: `len` seeded bytes.
fn body(task: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize);
    for (word, take) in words(task, len) {
        out.extend_from_slice(&word[..take]);
    }
    out
}

/// One step of the digest: FNV-1a over 8-byte words, a short last word padded with zeros.
fn mix(hash: u64, word: &[u8]) -> u64 {
    let mut padded = [0u8; 8];
    padded[..word.len()].copy_from_slice(word);
    (hash ^ u64::from_le_bytes(padded)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// A 64-bit digest of a body, its length folded in.
fn digest(bytes: &[u8]) -> u64 {
    bytes.chunks(8).fold(0xcbf2_9ce4_8422_2325_u64 ^ bytes.len() as u64, mix)
}

/// The digest of task `task`'s body, without making the body.
fn digest_of_body(task: u64, len: u64) -> u64 {
    words(task, len).fold(0xcbf2_9ce4_8422_2325_u64 ^ len, |hash, (word, take)| mix(hash, &word[..take]))
}

impl Download {
    fn url(&self, task: u64) -> Result<String, TaskEnd> {
        match self.server.get() {
            Some(addr) => Ok(format!("http://{addr}/task/{task}")),
            None => Err(TaskEnd::Failed("net: the run's server is not running".into())),
        }
    }

    /// Checks a downloaded body; its digest is the task's.
    fn check(&self, task: u64, got: &[u8]) -> TaskEnd {
        let want = digest_of_body(task, self.bytes);
        let got_digest = digest(got);
        if got.len() as u64 == self.bytes && got_digest == want {
            TaskEnd::Completed { digest: got_digest }
        } else {
            TaskEnd::Failed(format!("net: task {task} got {} bytes that differ from what was served", got.len()))
        }
    }
}

/// Adds a completed download to the run's bytes and the worker's request time.
fn count(cells: &super::task::Cells<'_>, bytes: usize, took: Duration) {
    cells.shared_counter.fetch_add(bytes as u64, Ordering::Relaxed);
    cells.own_counter.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// One blocking download with ureq.
fn fetch(url: &str, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    let mut response = ureq::get(url).call()?;
    response.body_mut().with_config().limit(limit + 1).read_to_vec()
}

/// One download with hyper's client, on the caller's tokio runtime.
async fn fetch_async(addr: SocketAddr, task: u64) -> Result<Vec<u8>, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|error| error.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|error| error.to_string())?;
    // Drives the connection; it ends when the response is read and `sender` is dropped.
    tokio::spawn(connection);
    let request = Request::get(format!("/task/{task}"))
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|error| error.to_string())?;
    let response = sender.send_request(request).await.map_err(|error| error.to_string())?;
    if response.status() != StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    let collected = response.into_body().collect().await.map_err(|error| error.to_string())?;
    Ok(collected.to_bytes().to_vec())
}

impl Workload for Download {
    fn units_for(&self, _task: u64) -> u64 {
        self.bytes.div_ceil(1024)
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let url = match self.url(task) {
            Ok(url) => url,
            Err(failed) => return failed,
        };
        let started = Instant::now();
        let mut fetched = None;
        hooks.blocking(&mut || fetched = Some(fetch(&url, self.bytes)));
        let took = started.elapsed();
        let end = match fetched {
            Some(Ok(got)) => self.check(task, &got),
            // The server cuts its delay short once the run stops: that is a stop, not a failure.
            _ if hooks.checkpoint(0) == Flow::Stop => return TaskEnd::Stopped,
            Some(Err(error)) => return TaskEnd::Failed(format!("net: task {task}: {error}")),
            None => return TaskEnd::Failed(format!("net: task {task}: no answer")),
        };
        if hooks.checkpoint(self.units_for(task)) == Flow::Stop {
            return TaskEnd::Stopped;
        }
        if matches!(end, TaskEnd::Completed { .. }) {
            count(&hooks.cells(), self.bytes as usize, took);
        }
        end
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        Some((0..tasks).fold(0u64, |sum, task| sum.wrapping_add(digest_of_body(task, self.bytes))))
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let request_ns: u64 = run.own_counters.iter().sum();
        Box::new(NetMetrics {
            server_delay_ms: self.delay.as_millis() as u64,
            requests: run.tasks_done,
            bytes: run.shared_counter,
            megabytes_per_second: if run.wall_seconds > 0.0 { run.shared_counter as f64 / 1e6 / run.wall_seconds } else { 0.0 },
            mean_request_ms: if run.tasks_done > 0 { request_ns as f64 / 1e6 / run.tasks_done as f64 } else { 0.0 },
        })
    }

    fn as_async(&self) -> Option<&dyn AsyncWorkload> {
        Some(self)
    }

    fn as_served(&self) -> Option<&dyn ServedWorkload> {
        Some(self)
    }

    /// The run's figures so far, as its results will give them: `1.2 MB/s · 16 requests ·
    /// 512 ms a request`.
    fn live(&self, now: &LiveCells) -> Option<String> {
        let rate = if now.elapsed_seconds > 0.0 { now.shared_counter as f64 / 1e6 / now.elapsed_seconds } else { 0.0 };
        let request_ns: u64 = now.own_counters.iter().sum();
        let mean = match now.tasks_done {
            0 => "—".to_owned(),
            done => format!("{:.0} ms", request_ns as f64 / 1e6 / done as f64),
        };
        Some(format!("{rate:.1} MB/s · {} requests · {mean} a request", now.tasks_done))
    }

    fn python_context(&self) -> Vec<(&'static str, String)> {
        self.server.get().map(|addr| ("server", addr.to_string())).into_iter().collect()
    }
}

impl ServedWorkload for Download {
    fn start_service(&self, stopping: Stopping) -> std::io::Result<Box<dyn Service>> {
        let server = Server::start(self.bytes, self.delay, stopping)?;
        // A second run of the same workload value would find it set; each run builds its own.
        let _ = self.server.set(server.addr);
        Ok(Box::new(server))
    }
}

impl AsyncWorkload for Download {
    fn run_task_async<'a>(&'a self, task: u64, hooks: &'a mut dyn AsyncHooks) -> LocalFuture<'a, TaskEnd> {
        Box::pin(async move {
            let Some(addr) = self.server.get().copied() else {
                return TaskEnd::Failed("net: the run's server is not running".into());
            };
            let started = Instant::now();
            let end = match awaiting(hooks, fetch_async(addr, task)).await {
                None => return TaskEnd::Stopped,
                Some(Ok(got)) => self.check(task, &got),
                Some(Err(_)) if hooks.stop_requested() => return TaskEnd::Stopped,
                Some(Err(error)) => return TaskEnd::Failed(format!("net: task {task}: {error}")),
            };
            let took = started.elapsed();
            if hooks.checkpoint(self.units_for(task)).await == Flow::Stop {
                return TaskEnd::Stopped;
            }
            if matches!(end, TaskEnd::Completed { .. }) {
                count(&hooks.cells(), self.bytes as usize, took);
            }
            end
        })
    }
}

/// What a net run measured.
#[derive(Debug, serde::Serialize)]
struct NetMetrics {
    server_delay_ms: u64,
    requests: u64,
    /// Bytes of the bodies downloaded and checked.
    bytes: u64,
    megabytes_per_second: f64,
    /// From sending a request to holding its whole body, over completed tasks.
    mean_request_ms: f64,
}

impl Metrics for NetMetrics {
    fn headline(&self) -> Option<String> {
        Some(format!("{:.1} MB/s, {:.0} ms a request", self.megabytes_per_second, self.mean_request_ms))
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

/// The run's HTTP server: a thread running a current-thread tokio runtime that serves
/// `/task/N` with hyper, until stopped.
struct Server {
    addr: SocketAddr,
    quit: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// How often the server looks at its quit flag and a delayed answer at the run's stop flag.
const SERVER_POLL: Duration = Duration::from_millis(10);

impl Server {
    fn start(bytes: u64, delay: Duration, stopping: Stopping) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let quit = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&quit);
        let thread = std::thread::Builder::new().name("net-server".to_owned()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Ok((stream, _))) = tokio::time::timeout(SERVER_POLL, listener.accept()).await else {
                        continue;
                    };
                    let stopping = Arc::clone(&stopping);
                    let service = hyper::service::service_fn(move |request| answer(request, bytes, delay, Arc::clone(&stopping)));
                    tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service));
                }
            });
            // Dropping the runtime here ends every connection still open.
            drop(runtime);
        })?;
        Ok(Self { addr, quit, thread })
    }
}

impl Service for Server {
    fn stop(self: Box<Self>) {
        self.quit.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Answers one request: after the delay (cut short with 503 once the run stops), the body.
async fn answer(
    request: Request<Incoming>,
    bytes: u64,
    delay: Duration,
    stopping: Stopping,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let reply = |status: StatusCode, content: Vec<u8>| {
        let mut response = Response::new(Full::new(Bytes::from(content)));
        *response.status_mut() = status;
        Ok(response)
    };
    let Some(task) = request.uri().path().strip_prefix("/task/").and_then(|task| task.parse::<u64>().ok()) else {
        return reply(StatusCode::NOT_FOUND, b"no such body".to_vec());
    };
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if stopping() {
            return reply(StatusCode::SERVICE_UNAVAILABLE, b"the run is stopping".to_vec());
        }
        tokio::time::sleep(SERVER_POLL.min(until.saturating_duration_since(Instant::now()))).await;
    }
    reply(StatusCode::OK, body(task, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn bodies_are_seeded_by_task_and_sized_exactly() {
        assert_eq!(body(3, 1000), body(3, 1000));
        assert_ne!(body(3, 1000), body(4, 1000));
        assert_eq!(body(5, 1027).len(), 1027);
        assert_ne!(digest(&body(3, 1000)), digest(&body(3, 999)));
        for len in [0, 1, 7, 8, 9, 1000, 1027] {
            assert_eq!(digest(&body(9, len)), digest_of_body(9, len), "{len} bytes");
        }
    }

    #[test]
    fn the_live_line_gives_the_figures_so_far() {
        let net = Download { bytes: 256 * 1024, delay: Duration::from_millis(500), server: OnceLock::new() };
        let mut now = LiveCells { elapsed_seconds: 0.0, tasks_done: 0, shared_counter: 0, own_counters: vec![0, 0] };
        assert_eq!(net.live(&now).as_deref(), Some("0.0 MB/s · 0 requests · — a request"));
        now = LiveCells {
            elapsed_seconds: 2.0,
            tasks_done: 4,
            shared_counter: 4 * 256 * 1024,
            own_counters: vec![1_000_000_000, 1_048_000_000],
        };
        assert_eq!(net.live(&now).as_deref(), Some("0.5 MB/s · 4 requests · 512 ms a request"));
    }

    #[test]
    fn downloads_from_its_own_server_and_checks_every_body() {
        let net = Download { bytes: 3000, delay: Duration::from_millis(5), server: OnceLock::new() };
        let service = net.start_service(Arc::new(|| false)).expect("a loopback port");
        let mut hooks = Recorder::default();
        let mut sum = 0u64;
        for task in 0..4 {
            match net.run_task(task, &mut hooks) {
                TaskEnd::Completed { digest } => sum = sum.wrapping_add(digest),
                other => panic!("task {task}: {other:?}"),
            }
        }
        service.stop();
        assert_eq!(Some(sum), net.expected_checksum(4));
        assert_eq!(hooks.counter.load(Ordering::Relaxed), 4 * 3000);
        assert_eq!(hooks.blocking_calls, 4);
        // The server is gone: the next download fails instead of hanging.
        assert!(matches!(net.run_task(0, &mut Recorder::default()), TaskEnd::Failed(_)));
    }

    #[test]
    fn a_stopping_run_cuts_the_delay_and_the_task_stops() {
        let net = Download { bytes: 10, delay: Duration::from_secs(10), server: OnceLock::new() };
        let service = net.start_service(Arc::new(|| true)).expect("a loopback port");
        let started = Instant::now();
        let mut hooks = Recorder { stop_after: Some(0), ..Recorder::default() };
        assert_eq!(net.run_task(0, &mut hooks), TaskEnd::Stopped);
        service.stop();
        assert!(started.elapsed() < Duration::from_secs(10), "the delay was not cut");
    }
}
