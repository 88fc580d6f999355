//! Lines: the message path between the coordinator (a thread of the program, one per worker)
//! and a worker, for the workloads whose subject is talking (`ipc`, `data --transfer pipe`).
//!
//! A line is request/reply: the worker sends, the coordinator answers, so at most one message
//! is ever in flight each way. Every wait is cut into slices of [`SLICE`]; between slices the
//! waiter asks its `keep_waiting` whether to go on, which is how a worker waiting for a reply
//! still stops within the grace period and a coordinator leaves when the run ends.
//!
//! Worker ends may live in a forked child: they hold no lock another thread could own (a
//! crossbeam channel is for threads only, never crosses a fork), and waiting uses only
//! `poll`, `read`, `write` and `futex`.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam::channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::board::{futex_wait, futex_wake, Board, Lane};
use crate::workload::{ExchangeError, Transport};

/// The longest a waiter goes without asking whether to keep waiting.
pub(crate) const SLICE: Duration = Duration::from_millis(20);
/// Spins on a shared-memory lane before sleeping on its futex: a reply between two running
/// processes arrives in well under a microsecond, far less than a futex round trip.
const SPINS_BEFORE_SLEEP: u32 = 4_000;
/// Bytes of the length prefix of a framed message on a byte stream.
const PREFIX: usize = 4;

/// Which side of the line an end is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Side {
    Worker,
    Coordinator,
}

/// One end of a line.
pub(crate) enum End {
    /// Threads: a channel each way.
    Channel { tx: Sender<Vec<u8>>, rx: Receiver<Vec<u8>> },
    /// Processes: a pipe each way, or both directions of one socket (`read` and `write` are then
    /// two descriptors of it). Non-blocking, close-on-exec.
    Stream { read: OwnedFd, write: OwnedFd },
    /// Processes: worker `index`'s mailbox in the board.
    Mailbox { board: Arc<Board>, index: usize, side: Side, seen: u32 },
}

/// Makes a line for worker `index`; returns (worker end, coordinator end).
pub(crate) fn pair(transport: Transport, board: &Arc<Board>, index: usize) -> std::io::Result<(End, End)> {
    Ok(match transport {
        Transport::Channel => {
            let (to_coordinator, from_worker) = bounded(1);
            let (to_worker, from_coordinator) = bounded(1);
            (End::Channel { tx: to_coordinator, rx: from_coordinator }, End::Channel { tx: to_worker, rx: from_worker })
        }
        Transport::Pipe => {
            let flags = OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
            let (worker_reads, coordinator_writes) = nix::unistd::pipe2(flags)?;
            let (coordinator_reads, worker_writes) = nix::unistd::pipe2(flags)?;
            (
                End::Stream { read: worker_reads, write: worker_writes },
                End::Stream { read: coordinator_reads, write: coordinator_writes },
            )
        }
        Transport::Socket => {
            use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
            let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
            let (worker, coordinator) = socketpair(AddressFamily::Unix, SockType::Stream, None, flags)?;
            (
                End::Stream { write: worker.try_clone()?, read: worker },
                End::Stream { write: coordinator.try_clone()?, read: coordinator },
            )
        }
        Transport::Shm => {
            let mailbox = &board.slot(index).mailbox;
            let worker_seen = mailbox.to_worker.seq.load(Ordering::Acquire);
            let coordinator_seen = mailbox.to_coordinator.seq.load(Ordering::Acquire);
            (
                End::Mailbox { board: Arc::clone(board), index, side: Side::Worker, seen: worker_seen },
                End::Mailbox { board: Arc::clone(board), index, side: Side::Coordinator, seen: coordinator_seen },
            )
        }
    })
}

/// A worker end as it crosses `exec` (the spawn start method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum WireEnd {
    Stream { read: RawFd, write: RawFd },
    Mailbox { seen: u32 },
}

impl End {
    /// What a spawned worker needs to rebuild this end, and the descriptors that must survive
    /// `exec`. None for a channel, which cannot leave the process.
    #[must_use]
    pub(crate) fn wire(&self) -> Option<(WireEnd, Vec<RawFd>)> {
        match self {
            Self::Channel { .. } => None,
            Self::Stream { read, write } => {
                let (read, write) = (read.as_raw_fd(), write.as_raw_fd());
                Some((WireEnd::Stream { read, write }, vec![read, write]))
            }
            Self::Mailbox { seen, .. } => Some((WireEnd::Mailbox { seen: *seen }, Vec::new())),
        }
    }

    /// Rebuilds a worker end in a spawned worker.
    ///
    /// # Safety
    /// The descriptors of a `Stream` must be open and owned by nobody else in this process.
    #[must_use]
    pub(crate) unsafe fn from_wire(wire: WireEnd, board: &Arc<Board>, index: usize) -> Self {
        match wire {
            // SAFETY: as the caller promises.
            WireEnd::Stream { read, write } => unsafe {
                Self::Stream { read: OwnedFd::from_raw_fd(read), write: OwnedFd::from_raw_fd(write) }
            },
            WireEnd::Mailbox { seen } => Self::Mailbox { board: Arc::clone(board), index, side: Side::Worker, seen },
        }
    }

    /// Sends one message, waiting in slices while `keep_waiting` says so.
    pub(crate) fn send(&mut self, message: &[u8], keep_waiting: &mut dyn FnMut() -> bool) -> Result<(), ExchangeError> {
        match self {
            Self::Channel { tx, .. } => {
                let mut message = message.to_vec();
                loop {
                    match tx.send_timeout(message, SLICE) {
                        Ok(()) => return Ok(()),
                        Err(SendTimeoutError::Disconnected(_)) => return Err(hung_up()),
                        Err(SendTimeoutError::Timeout(back)) => message = back,
                    }
                    if !keep_waiting() {
                        return Err(ExchangeError::Stopping);
                    }
                }
            }
            Self::Stream { write, .. } => write_frame(write, message, keep_waiting),
            Self::Mailbox { board, index, side, .. } => {
                let mailbox = &board.slot(*index).mailbox;
                let lane = match side {
                    Side::Worker => &mailbox.to_coordinator,
                    Side::Coordinator => &mailbox.to_worker,
                };
                post(lane, message)
            }
        }
    }

    /// Receives one message into `into`, waiting in slices while `keep_waiting` says so.
    pub(crate) fn recv(
        &mut self,
        into: &mut Vec<u8>,
        keep_waiting: &mut dyn FnMut() -> bool,
    ) -> Result<(), ExchangeError> {
        match self {
            Self::Channel { rx, .. } => loop {
                match rx.recv_timeout(SLICE) {
                    Ok(message) => {
                        *into = message;
                        return Ok(());
                    }
                    Err(RecvTimeoutError::Disconnected) => return Err(hung_up()),
                    Err(RecvTimeoutError::Timeout) => {
                        if !keep_waiting() {
                            return Err(ExchangeError::Stopping);
                        }
                    }
                }
            },
            Self::Stream { read, .. } => read_frame(read, into, keep_waiting),
            Self::Mailbox { board, index, side, seen } => {
                let mailbox = &board.slot(*index).mailbox;
                let lane = match side {
                    Side::Worker => &mailbox.to_worker,
                    Side::Coordinator => &mailbox.to_coordinator,
                };
                collect(lane, seen, into, keep_waiting)
            }
        }
    }
}

fn hung_up() -> ExchangeError {
    ExchangeError::Broken("the other end hung up".into())
}

fn broken(errno: Errno) -> ExchangeError {
    if errno == Errno::EPIPE || errno == Errno::ECONNRESET {
        hung_up()
    } else {
        ExchangeError::Broken(errno.desc().to_owned())
    }
}

/// Waits until `fd` is ready for `events`, a slice at a time.
fn ready(fd: &OwnedFd, events: PollFlags, keep_waiting: &mut dyn FnMut() -> bool) -> Result<(), ExchangeError> {
    let slice = PollTimeout::try_from(SLICE.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), events)];
        match poll(&mut fds, slice) {
            Ok(0) | Err(Errno::EINTR) => {}
            // Readable, writable, or hung up: the read or write that follows tells which.
            Ok(_) => return Ok(()),
            Err(errno) => return Err(broken(errno)),
        }
        if !keep_waiting() {
            return Err(ExchangeError::Stopping);
        }
    }
}

/// Writes a length prefix and the message, in one `writev` when the pipe has room.
fn write_frame(fd: &OwnedFd, message: &[u8], keep_waiting: &mut dyn FnMut() -> bool) -> Result<(), ExchangeError> {
    let len = u32::try_from(message.len()).map_err(|_| ExchangeError::Broken("message over 4 GiB".into()))?;
    let prefix = len.to_le_bytes();
    let total = PREFIX + message.len();
    let mut written = 0;
    while written < total {
        let (head, body) =
            if written < PREFIX { (&prefix[written..], message) } else { (&[][..], &message[written - PREFIX..]) };
        match nix::sys::uio::writev(fd, &[std::io::IoSlice::new(head), std::io::IoSlice::new(body)]) {
            Ok(n) => written += n,
            Err(Errno::EAGAIN) => ready(fd, PollFlags::POLLOUT, keep_waiting)?,
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(broken(errno)),
        }
    }
    Ok(())
}

/// Reads one framed message. One message in flight means whatever arrives belongs to it.
fn read_frame(fd: &OwnedFd, into: &mut Vec<u8>, keep_waiting: &mut dyn FnMut() -> bool) -> Result<(), ExchangeError> {
    let mut prefix = [0u8; PREFIX];
    read_exact(fd, &mut prefix, keep_waiting)?;
    let len = u32::from_le_bytes(prefix) as usize;
    into.clear();
    into.resize(len, 0);
    read_exact(fd, into, keep_waiting)
}

fn read_exact(fd: &OwnedFd, buf: &mut [u8], keep_waiting: &mut dyn FnMut() -> bool) -> Result<(), ExchangeError> {
    let mut filled = 0;
    while filled < buf.len() {
        ready(fd, PollFlags::POLLIN, keep_waiting)?;
        loop {
            match nix::unistd::read(fd, &mut buf[filled..]) {
                Ok(0) => return Err(hung_up()),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(());
                    }
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => {}
                Err(errno) => return Err(broken(errno)),
            }
        }
    }
    Ok(())
}

/// Publishes a message of up to 8 bytes on `lane` and wakes its reader if it sleeps.
fn post(lane: &Lane, message: &[u8]) -> Result<(), ExchangeError> {
    if message.len() > 8 {
        return Err(ExchangeError::Broken(format!("a shared-memory message holds 8 bytes, not {}", message.len())));
    }
    let mut bytes = [0u8; 8];
    bytes[..message.len()].copy_from_slice(message);
    lane.payload.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
    lane.len.store(message.len() as u32, Ordering::Relaxed);
    // SeqCst on `seq` and `sleeping`, on both sides: either the reader sees the new `seq`
    // before it sleeps, or the writer sees `sleeping` and wakes it.
    lane.seq.fetch_add(1, Ordering::SeqCst);
    if lane.sleeping.swap(0, Ordering::SeqCst) != 0 {
        futex_wake(&lane.seq, 1);
    }
    Ok(())
}

/// Waits for the message after `seen` on `lane`: spins briefly, then sleeps on the futex.
fn collect(
    lane: &Lane,
    seen: &mut u32,
    into: &mut Vec<u8>,
    keep_waiting: &mut dyn FnMut() -> bool,
) -> Result<(), ExchangeError> {
    let mut spins = 0;
    loop {
        let now = lane.seq.load(Ordering::SeqCst);
        if now != *seen {
            *seen = now;
            let len = (lane.len.load(Ordering::Relaxed) as usize).min(8);
            into.clear();
            into.extend_from_slice(&lane.payload.load(Ordering::Relaxed).to_le_bytes()[..len]);
            return Ok(());
        }
        if spins < SPINS_BEFORE_SLEEP {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        lane.sleeping.store(1, Ordering::SeqCst);
        if lane.seq.load(Ordering::SeqCst) == *seen {
            futex_wait(&lane.seq, *seen, SLICE);
            if lane.seq.load(Ordering::SeqCst) == *seen && !keep_waiting() {
                return Err(ExchangeError::Stopping);
            }
        }
        spins = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_once(transport: Transport, message: &[u8]) -> Vec<u8> {
        let board = Arc::new(Board::create().expect("board"));
        let (mut worker, mut coordinator) = pair(transport, &board, 3).expect("line");
        let echo = std::thread::spawn(move || {
            let mut got = Vec::new();
            coordinator.recv(&mut got, &mut || true).expect("recv");
            coordinator.send(&got, &mut || true).expect("send");
        });
        worker.send(message, &mut || true).expect("send");
        let mut reply = Vec::new();
        worker.recv(&mut reply, &mut || true).expect("recv");
        echo.join().expect("echo");
        reply
    }

    #[test]
    fn every_transport_carries_a_message_there_and_back() {
        for transport in [Transport::Channel, Transport::Pipe, Transport::Socket, Transport::Shm] {
            assert_eq!(echo_once(transport, b"ping1234"), b"ping1234", "{transport}");
            assert_eq!(echo_once(transport, b""), b"", "{transport}");
        }
    }

    #[test]
    fn streams_carry_messages_larger_than_the_pipe() {
        let message: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(echo_once(Transport::Pipe, &message), message);
        assert_eq!(echo_once(Transport::Socket, &message), message);
    }

    #[test]
    fn a_waiter_gives_up_when_told_and_sees_a_hang_up() {
        let board = Arc::new(Board::create().expect("board"));
        for transport in [Transport::Channel, Transport::Pipe, Transport::Socket, Transport::Shm] {
            let (mut worker, coordinator) = pair(transport, &board, 0).expect("line");
            let mut asked = 0;
            let mut reply = Vec::new();
            let waited = worker.recv(&mut reply, &mut || {
                asked += 1;
                asked < 3
            });
            assert_eq!(waited, Err(ExchangeError::Stopping), "{transport}");
            assert_eq!(asked, 3, "{transport}");
            drop(coordinator);
            if transport != Transport::Shm {
                // Shared memory has no hang-up; its waiter relies on keep_waiting alone.
                assert_eq!(worker.recv(&mut reply, &mut || true), Err(hung_up()), "{transport}");
            }
        }
    }

    #[test]
    fn shared_memory_refuses_a_message_it_cannot_hold() {
        let board = Arc::new(Board::create().expect("board"));
        let (mut worker, _coordinator) = pair(Transport::Shm, &board, 0).expect("line");
        assert!(matches!(worker.send(&[0; 9], &mut || true), Err(ExchangeError::Broken(_))));
    }
}
