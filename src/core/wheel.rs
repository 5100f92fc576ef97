//! `TimingWheel`: the hierarchical hashed timing wheel behind the expiry actor. It answers one
//! question fast: which scheduled items are due at `now_ms`? Plain Rust: no actix, no clock; the
//! caller passes the time in.
//!
//! Shape (the one of Varghese and Lauck, and of tokio's timer): [`WHEEL_LEVELS`] levels of
//! [`WHEEL_SLOTS_PER_LEVEL`] slots. A slot of level `l` covers `64^l` ticks of `resolution_ms`.
//! An item is put in the lowest level whose slot still separates its tick from the wheel's
//! current tick, so scheduling is O(1) whatever the delay: a one-hour TTL costs the same push as
//! a one-second one. When the wheel reaches a slot of a higher level, the slot's items are
//! spread over the lower levels (each item moves down at most once per level, so the amortised
//! cost per item is bounded by the number of levels). Empty stretches of time are skipped with a
//! 64-bit occupancy mask per level, so a clock that jumps an hour costs a few mask look-ups, not
//! 360,000 empty ticks.
//!
//! Invariants:
//! - an item fires exactly once, at the first `advance(now_ms)` with `now_ms >= deadline_ms`,
//!   never before (ticks quantise where items are stored, not when they fire: items of the
//!   current tick that are not yet due wait in `current` for the next advance);
//! - `len()` counts every item scheduled and not yet fired;
//! - every item stored at level `l` has a tick later than `elapsed_tick` that agrees with it in
//!   every 6-bit digit above `l`, so the lowest occupied slot of the lowest occupied level is the
//!   next one due.

/// Slots per level: one bit each in a `u64` occupancy mask.
pub const WHEEL_SLOTS_PER_LEVEL: usize = 64;

/// Bits of the tick that one level consumes (`64 = 2^6`).
const LEVEL_BITS: u32 = 6;

/// Levels: 11 levels of 6 bits cover every `u64` tick, so no deadline is ever out of range and
/// no item has to be clamped and re-queued. The upper levels are empty in practice (a one-hour
/// TTL at 10 ms is 360,000 ticks, level 3); an empty level costs one mask test per advance step.
pub const WHEEL_LEVELS: usize = 11;

/// One scheduled item with its deadline.
#[derive(Debug)]
struct Entry<T> {
    deadline_ms: i64,
    item: T,
}

/// One level: its slots and which of them hold items.
#[derive(Debug)]
struct Level<T> {
    occupied: u64,
    slots: Vec<Vec<Entry<T>>>,
}

impl<T> Level<T> {
    fn new() -> Level<T> {
        Level {
            occupied: 0,
            slots: (0..WHEEL_SLOTS_PER_LEVEL).map(|_| Vec::new()).collect(),
        }
    }
}

/// A hierarchical timing wheel of items of type `T`, each with a deadline in milliseconds.
#[derive(Debug)]
pub struct TimingWheel<T> {
    resolution_ms: i64,
    /// Tick 0 starts here; deadlines before it count as tick 0.
    origin_ms: i64,
    /// Every slot of every tick up to and including this one has been taken out of the levels.
    elapsed_tick: u64,
    levels: Vec<Level<T>>,
    /// Items whose tick has been reached: scheduled at or before `elapsed_tick`, or taken out of
    /// their slot but not yet due (their deadline lies later inside the current tick).
    current: Vec<Entry<T>>,
    len: usize,
}

impl<T> TimingWheel<T> {
    /// An empty wheel whose tick 0 starts at `origin_ms`, with ticks of `resolution_ms`
    /// (at least 1).
    pub fn new(origin_ms: i64, resolution_ms: i64) -> TimingWheel<T> {
        assert!(resolution_ms >= 1, "resolution_ms must be at least 1");
        TimingWheel {
            resolution_ms,
            origin_ms,
            elapsed_tick: 0,
            levels: (0..WHEEL_LEVELS).map(|_| Level::new()).collect(),
            current: Vec::new(),
            len: 0,
        }
    }

    /// The length of one tick, in milliseconds.
    pub fn resolution_ms(&self) -> i64 {
        self.resolution_ms
    }

    /// Items scheduled and not yet fired.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no item waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `item` to fire at the first advance with `now_ms >= deadline_ms`. O(1): one
    /// division, one bit scan, one push. A deadline already passed fires at the next advance.
    pub fn schedule(&mut self, deadline_ms: i64, item: T) {
        self.len += 1;
        let tick = self.tick_of(deadline_ms);
        self.place(tick, Entry { deadline_ms, item });
    }

    /// Moves the wheel to `now_ms` and hands every due item to `fire` with its deadline, in no
    /// particular order. Returns how many fired. A `now_ms` earlier than a previous one fires
    /// only what is due at `now_ms` (time does not run backwards inside the wheel).
    pub fn advance(&mut self, now_ms: i64, mut fire: impl FnMut(T, i64)) -> usize {
        let target_tick = self.tick_of(now_ms);
        let mut fired = self.fire_current(now_ms, &mut fire);
        while let Some((level, slot, slot_tick)) = self.next_occupied() {
            if slot_tick > target_tick {
                break;
            }
            self.elapsed_tick = slot_tick;
            let entries = std::mem::take(&mut self.levels[level].slots[slot]);
            self.levels[level].occupied &= !(1u64 << slot);
            for entry in entries {
                let tick = self.tick_of(entry.deadline_ms);
                if tick <= self.elapsed_tick && entry.deadline_ms <= now_ms {
                    fired += 1;
                    fire(entry.item, entry.deadline_ms);
                } else {
                    self.place(tick, entry);
                }
            }
        }
        self.elapsed_tick = self.elapsed_tick.max(target_tick);
        self.len -= fired;
        fired
    }

    /// Fires the due items of `current`, keeps the others. Counted by the caller in `len`.
    fn fire_current(&mut self, now_ms: i64, fire: &mut impl FnMut(T, i64)) -> usize {
        if self.current.is_empty() {
            return 0;
        }
        let mut fired = 0;
        let mut waiting = Vec::new();
        for entry in std::mem::take(&mut self.current) {
            if entry.deadline_ms <= now_ms {
                fired += 1;
                fire(entry.item, entry.deadline_ms);
            } else {
                waiting.push(entry);
            }
        }
        self.current = waiting;
        fired
    }

    /// Puts an entry whose tick is `tick` where it belongs relative to `elapsed_tick`.
    fn place(&mut self, tick: u64, entry: Entry<T>) {
        if tick <= self.elapsed_tick {
            self.current.push(entry);
            return;
        }
        let level = level_for(self.elapsed_tick, tick);
        let slot = ((tick >> (LEVEL_BITS * level as u32)) & 63) as usize;
        let level = &mut self.levels[level];
        level.slots[slot].push(entry);
        level.occupied |= 1u64 << slot;
    }

    /// The next slot to take out: its level, index and first tick.
    fn next_occupied(&self) -> Option<(usize, usize, u64)> {
        let (level, occupied) = self
            .levels
            .iter()
            .enumerate()
            .find(|(_, level)| level.occupied != 0)
            .map(|(index, level)| (index, level.occupied))?;
        // Every stored slot lies after the current position (the invariant above), so the
        // lowest set bit is the nearest slot.
        let slot = occupied.trailing_zeros() as usize;
        let shift = LEVEL_BITS * level as u32;
        let level_start_tick = match shift + LEVEL_BITS {
            bits if bits >= 64 => 0,
            bits => self.elapsed_tick & !((1u64 << bits) - 1),
        };
        Some((level, slot, level_start_tick + ((slot as u64) << shift)))
    }

    /// The tick a deadline falls in: whole ticks since the origin, 0 for earlier deadlines.
    fn tick_of(&self, deadline_ms: i64) -> u64 {
        let since_origin_ms = deadline_ms.saturating_sub(self.origin_ms).max(0);
        (since_origin_ms / self.resolution_ms) as u64
    }
}

/// The level for an item of tick `tick` when the wheel stands at `elapsed_tick < tick`: the
/// highest 6-bit digit in which the two differ.
fn level_for(elapsed_tick: u64, tick: u64) -> usize {
    let differing = (elapsed_tick ^ tick) | 63;
    let highest_bit = 63 - differing.leading_zeros();
    (highest_bit / LEVEL_BITS) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Advances `wheel` to `now_ms` and returns the fired items, sorted.
    fn fire(wheel: &mut TimingWheel<u32>, now_ms: i64) -> Vec<u32> {
        let mut fired = Vec::new();
        let count = wheel.advance(now_ms, |item, deadline_ms| {
            assert!(
                deadline_ms <= now_ms,
                "item {item} fired before its deadline"
            );
            fired.push(item);
        });
        assert_eq!(count, fired.len());
        fired.sort_unstable();
        fired
    }

    /// Goal: an item fires at the first advance at or after its deadline, not one millisecond
    /// earlier, even when the deadline falls inside a tick and advances are not tick-aligned.
    #[test]
    fn fires_at_the_first_advance_at_or_after_the_deadline() {
        let mut wheel = TimingWheel::new(1_000, 10);
        wheel.schedule(1_025, 1);
        assert_eq!(fire(&mut wheel, 1_021), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, 1_024), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, 1_025), vec![1]);
        assert!(wheel.is_empty());
    }

    /// Goal: a one-hour deadline and a one-second one are both found, after a clock jump that
    /// skips every tick in between.
    #[test]
    fn long_and_short_deadlines_survive_a_jump() {
        let mut wheel = TimingWheel::new(0, 10);
        wheel.schedule(3_600_000, 1);
        wheel.schedule(1_000, 2);
        assert_eq!(fire(&mut wheel, 999), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, 1_000), vec![2]);
        assert_eq!(fire(&mut wheel, 3_599_999), Vec::<u32>::new());
        assert_eq!(wheel.len(), 1);
        assert_eq!(fire(&mut wheel, 7_200_000), vec![1]);
    }

    /// Goal: deadlines already passed (or before the origin) fire at the next advance.
    #[test]
    fn past_deadlines_fire_at_the_next_advance() {
        let mut wheel = TimingWheel::new(5_000, 10);
        assert_eq!(fire(&mut wheel, 6_000), Vec::<u32>::new());
        wheel.schedule(4_000, 1);
        wheel.schedule(5_990, 2);
        wheel.schedule(6_000, 3);
        assert_eq!(fire(&mut wheel, 6_000), vec![1, 2, 3]);
    }

    /// Goal: a deadline far beyond the lower levels (years at 1 ms) lands on a high level and
    /// still fires exactly once, on time.
    #[test]
    fn far_deadlines_use_the_high_levels() {
        let mut wheel = TimingWheel::new(0, 1);
        let far_ms = 40 * 365 * 24 * 3_600 * 1_000_i64;
        wheel.schedule(far_ms, 7);
        assert_eq!(fire(&mut wheel, far_ms - 1), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, far_ms), vec![7]);
        assert_eq!(fire(&mut wheel, i64::MAX), Vec::<u32>::new());
    }

    /// Goal: a clock read earlier than a previous one fires nothing that is not due.
    #[test]
    fn a_clock_going_backwards_fires_nothing_early() {
        let mut wheel = TimingWheel::new(0, 10);
        wheel.schedule(500, 1);
        assert_eq!(fire(&mut wheel, 400), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, 100), Vec::<u32>::new());
        assert_eq!(fire(&mut wheel, 500), vec![1]);
    }

    proptest! {
        /// Goal: against a naive model (a set of deadlines), every advance fires exactly the
        /// items due at that time and not fired before, for any resolution, origin, mix of
        /// schedules and advances (including schedules into the past).
        #[test]
        fn matches_a_naive_model(
            resolution_ms in 1i64..50,
            origin_ms in -1_000i64..1_000,
            steps in prop::collection::vec((0u8..3, 0i64..5_000_000, 0i64..20_000), 1..200),
        ) {
            let mut wheel = TimingWheel::new(origin_ms, resolution_ms);
            let mut model: BTreeSet<(i64, u32)> = BTreeSet::new();
            let mut now_ms = origin_ms;
            for (index, (kind, far_ms, near_ms)) in steps.into_iter().enumerate() {
                let id = index as u32;
                match kind {
                    0 => {
                        let deadline_ms = now_ms + far_ms - 1_000;
                        wheel.schedule(deadline_ms, id);
                        model.insert((deadline_ms, id));
                    }
                    1 => {
                        let deadline_ms = now_ms + near_ms;
                        wheel.schedule(deadline_ms, id);
                        model.insert((deadline_ms, id));
                    }
                    _ => {
                        now_ms += near_ms;
                        let mut expected: Vec<u32> = model
                            .iter()
                            .filter(|(deadline_ms, _)| *deadline_ms <= now_ms)
                            .map(|(_, id)| *id)
                            .collect();
                        model.retain(|(deadline_ms, _)| *deadline_ms > now_ms);
                        expected.sort_unstable();
                        prop_assert_eq!(fire(&mut wheel, now_ms), expected);
                    }
                }
                prop_assert_eq!(wheel.len(), model.len());
            }
            let expected: Vec<u32> = {
                let mut ids: Vec<u32> = model.iter().map(|(_, id)| *id).collect();
                ids.sort_unstable();
                ids
            };
            prop_assert_eq!(fire(&mut wheel, i64::MAX / 2), expected);
            prop_assert!(wheel.is_empty());
        }
    }
}
