//! `BlockQueue`: a first-in first-out queue kept in fixed-size blocks, for the book's retention
//! queues (finished reservations, idempotency keys).
//!
//! A `VecDeque` doubles its buffer when full and moves every element into the new one. At a
//! million entries that one push moves half a million: in a mass expiry of a million holds the
//! chunks that crossed 131,072, 262,144 and 524,288 finished reservations took 2, 4 and 8 ms
//! instead of 0.2 ms (`benches/expiry.rs`), and a hold queued behind such a chunk waited that
//! long (the target: never more than 5 ms). Here a push that finds the last block full starts a new
//! block and nothing is ever moved, so every push and pop is O(1) in the worst case, not only on
//! average. The list of blocks still grows by doubling, but it holds one pointer per
//! [`BLOCK_ENTRIES`] entries.
//!
//! Invariants: every block but the last is full or has lost entries only at its front; no block
//! is empty; `len` is the sum of the blocks' lengths.

use std::collections::VecDeque;

/// Entries in one block: large enough that the list of blocks stays short (a thousand blocks at a
/// million entries), small enough that a new block is a small allocation (24 KiB for the
/// 24-byte entries of the finished queue).
pub const BLOCK_ENTRIES: usize = 1_024;

/// A FIFO queue whose pushes never move existing entries.
#[derive(Debug)]
pub struct BlockQueue<T> {
    blocks: VecDeque<VecDeque<T>>,
    len: usize,
}

impl<T> Default for BlockQueue<T> {
    fn default() -> Self {
        BlockQueue {
            blocks: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> BlockQueue<T> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `entry` at the back.
    pub fn push_back(&mut self, entry: T) {
        match self.blocks.back_mut() {
            Some(block) if block.len() < BLOCK_ENTRIES => block.push_back(entry),
            _ => {
                let mut block = VecDeque::with_capacity(BLOCK_ENTRIES);
                block.push_back(entry);
                self.blocks.push_back(block);
            }
        }
        self.len += 1;
    }

    /// The oldest entry.
    pub fn front(&self) -> Option<&T> {
        self.blocks.front().and_then(VecDeque::front)
    }

    /// Removes and returns the oldest entry.
    pub fn pop_front(&mut self) -> Option<T> {
        let block = self.blocks.front_mut()?;
        let entry = block.pop_front();
        if block.is_empty() {
            self.blocks.pop_front();
        }
        self.len -= 1;
        entry
    }

    /// Every entry, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Goal: the queue answers every push, pop, front, len and iteration exactly as a
        /// `VecDeque` does, across many block boundaries.
        #[test]
        fn behaves_as_a_vec_deque(ops in prop::collection::vec((any::<bool>(), 1..3_000usize), 1..40)) {
            let mut queue = BlockQueue::default();
            let mut model = VecDeque::new();
            let mut next = 0u32;
            for (push, count) in ops {
                for _ in 0..count {
                    if push {
                        queue.push_back(next);
                        model.push_back(next);
                        next += 1;
                    } else {
                        prop_assert_eq!(queue.pop_front(), model.pop_front());
                    }
                }
                prop_assert_eq!(queue.front(), model.front());
                prop_assert_eq!(queue.len(), model.len());
                prop_assert_eq!(queue.is_empty(), model.is_empty());
                prop_assert!(queue.blocks.iter().all(|block| !block.is_empty()));
            }
            prop_assert!(queue.iter().eq(model.iter()));
        }
    }
}
