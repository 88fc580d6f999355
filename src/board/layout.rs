//! Where each cell of the board lies, by name, for a writer in another language: a Python
//! worker maps the same memfd and stores into these offsets. The names are the Rust fields';
//! nothing else about the board is promised to such a writer.

use std::mem::{offset_of, size_of};

use super::ring::{RingEntryLayout, StateRing};
use super::slot::{FailureNote, Slot};
use super::{Header, Table};

/// One named offset (bytes), or a size.
pub type Cell = (&'static str, usize);

/// The table's cells: the header's from the start of the mapping, a slot's from the start of
/// its slot (slot `i` begins at `slots + i * slot_size`), the ring's and the failure note's
/// inside a slot, and the sizes a writer needs to step through arrays.
#[must_use]
pub fn cells() -> Vec<Cell> {
    let ring = offset_of!(Slot, ring);
    let failure = offset_of!(Slot, failure);
    let (ring_head, ring_entries, entry_size) = StateRing::layout();
    let RingEntryLayout { ns, what } = RingEntryLayout::offsets();
    vec![
        ("table_size", size_of::<Table>()),
        ("generation", offset_of!(Header, generation)),
        ("stop", offset_of!(Header, stop)),
        ("pause", offset_of!(Header, pause)),
        ("next_task", offset_of!(Header, next_task)),
        ("tasks_total", offset_of!(Header, tasks_total)),
        ("shared_counter", offset_of!(Header, shared_counter)),
        ("shared_lock", offset_of!(Header, shared_lock)),
        ("slots", offset_of!(Table, slots)),
        ("slot_size", size_of::<Slot>()),
        ("slot.state", offset_of!(Slot, state)),
        ("slot.core", offset_of!(Slot, core)),
        ("slot.pid", offset_of!(Slot, pid)),
        ("slot.tid", offset_of!(Slot, tid)),
        ("slot.tasks_done", offset_of!(Slot, tasks_done)),
        ("slot.tasks_total", offset_of!(Slot, tasks_total)),
        ("slot.units_done", offset_of!(Slot, units_done)),
        ("slot.units_total", offset_of!(Slot, units_total)),
        ("slot.cores_seen", offset_of!(Slot, cores_seen)),
        ("slot.cpu_ns", offset_of!(Slot, cpu_ns)),
        ("slot.lock_wait_ns", offset_of!(Slot, lock_wait_ns)),
        ("slot.requested_ns", offset_of!(Slot, requested_ns)),
        ("slot.started_ns", offset_of!(Slot, started_ns)),
        ("slot.finished_ns", offset_of!(Slot, finished_ns)),
        ("slot.digest", offset_of!(Slot, digest)),
        ("slot.generation", offset_of!(Slot, generation)),
        ("slot.busy_ns", offset_of!(Slot, busy_ns)),
        ("slot.own_counter", offset_of!(Slot, own_counter)),
        ("slot.rss_bytes", offset_of!(Slot, rss_bytes)),
        ("slot.pss_bytes", offset_of!(Slot, pss_bytes)),
        ("slot.current_task", offset_of!(Slot, current_task)),
        ("slot.block_end", offset_of!(Slot, block_end)),
        ("slot.inject", offset_of!(Slot, inject)),
        ("slot.line_bytes", offset_of!(Slot, line_bytes)),
        ("slot.line_ns", offset_of!(Slot, line_ns)),
        ("slot.exit_status", offset_of!(Slot, exit_status)),
        ("slot.exit_known", offset_of!(Slot, exit_known)),
        ("slot.failure_len", failure + FailureNote::LEN_OFFSET),
        ("slot.failure_text", failure + FailureNote::TEXT_OFFSET),
        ("failure_bytes", super::FAILURE_NOTE_BYTES),
        ("slot.ring_head", ring + ring_head),
        ("slot.ring_entries", ring + ring_entries),
        ("ring_entry_size", entry_size),
        ("ring_entry.ns", ns),
        ("ring_entry.what", what),
        ("ring_events", super::RING_EVENTS),
    ]
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::board::{Activity, Board};

    fn at(name: &str) -> usize {
        cells().iter().find(|(cell, _)| *cell == name).map(|(_, at)| *at).expect(name)
    }

    /// Stores through raw offsets, as a foreign writer does, and reads them back through the
    /// Rust fields: the two views of one slot agree.
    #[test]
    fn offsets_reach_the_fields_they_name() {
        let board = Board::create().expect("memfd");
        board.begin_run(3, 1);
        let words = std::ptr::from_ref(board.header()).cast::<std::sync::atomic::AtomicU64>();
        let slot = at("slots") + 2 * at("slot_size");
        // SAFETY: 8-byte aligned offsets inside the mapping, written through atomics.
        let store = |offset: usize, value: u64| unsafe {
            assert_eq!(offset % 8, 0);
            (*words.add(offset / 8)).store(value, Ordering::Relaxed);
        };
        store(slot + at("slot.digest"), 77);
        store(slot + at("slot.ring_entries") + at("ring_entry.ns"), 500);
        store(slot + at("slot.ring_entries") + at("ring_entry.what"), Activity::Blocked as u64 | (2 << 8));
        store(slot + at("slot.ring_head"), 1);
        assert_eq!(board.slot(2).digest.load(Ordering::Relaxed), 77);
        let mut events = Vec::new();
        board.slot(2).ring.read(0, &mut events);
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].ns, events[0].activity, events[0].cpu), (500, Activity::Blocked, Some(1)));
        assert_eq!(at("table_size") % 4096 % 128, 0);
    }
}
