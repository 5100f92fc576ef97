//! `GapIndex`: the free time between the entries of a disjoint calendar, so that a
//! first-available search finds the first gap long enough for it in `O(log n)` instead of
//! walking every entry in its way.
//!
//! It is an AVL tree keyed by an entry's start, beside the calendar's `BTreeMap` (which keeps
//! the conflict check's one-descent walk). Each node carries its entry's *gap before* (its start
//! minus the end of the entry before it; [`UNBOUNDED`] for the first entry) and its expiry, and
//! two summaries of its subtree: the largest gap before any of its entries, and the earliest
//! expiry. The first lets a search skip every subtree whose gaps are all too short, the second
//! lets it see in one descent whether a lazily expired hold lies in a stretch.
//!
//! Invariants (checked by [`GapIndex::check`] against the calendar's entries):
//! - the nodes are the calendar's entries, in order of start, each with its entry's expiry and
//!   the gap before it as the calendar's entries give it;
//! - each node's `gap_max_ms` and `expires_min_ms` summarise its subtree, and its height is one
//!   more than its taller child's; the heights of a node's children differ by at most one, so a
//!   descent is at most about `1.44 log2 n` nodes deep (30 at a million entries);
//! - the nodes live in the first `len` places of the arena, with no holes: a removal moves the
//!   last node into the place it frees, so memory follows the entries, not their high-water mark.
//!
//! The gap before an entry depends on its neighbour, which the index does not store: the
//! calendar, which has both, hands it in on every insert and removal ([`GapIndex::set_gap_before`]
//! for the entry after). A node costs 56 bytes; the arena is a list of chunks of at most
//! [`limits::GAP_INDEX_CHUNK_NODES`] nodes, so growing it never copies more than one chunk.
//!
//! Considered and not taken: `augmented-rbtree`, a generic augmented red-black tree. Its nodes
//! are boxed one by one and carry their value and color beside the summary, about twice the
//! bytes of a node here, and the searches below need a descent of their own either way.

use crate::limits;

/// `gap_before_ms` of the first entry: nothing before it, so any hold that ends by its start
/// fits before it.
pub const UNBOUNDED: i64 = i64::MAX;

/// The index of no node (a missing child, an empty tree).
const NIL: u32 = u32::MAX;

const CHUNK_SHIFT: u32 = limits::GAP_INDEX_CHUNK_NODES.trailing_zeros();
const CHUNK_MASK: usize = limits::GAP_INDEX_CHUNK_NODES - 1;
const _: () = assert!(limits::GAP_INDEX_CHUNK_NODES.is_power_of_two());

/// One entry of the calendar and the summary of its subtree.
#[derive(Clone, Copy, Debug)]
struct Node {
    start_ms: i64,
    /// This entry's start minus the previous entry's end, or [`UNBOUNDED`].
    gap_before_ms: i64,
    /// The entry's expiry (a copy of the calendar entry's).
    expires_at_ms: i64,
    /// The largest `gap_before_ms` in this subtree.
    gap_max_ms: i64,
    /// The earliest `expires_at_ms` in this subtree.
    expires_min_ms: i64,
    left: u32,
    right: u32,
    height: u8,
}

/// The free-gap index of one disjoint calendar (see the module doc).
#[derive(Clone, Debug)]
pub struct GapIndex {
    /// Nodes `0..len`, chunk `i >> CHUNK_SHIFT` at place `i & CHUNK_MASK`. Every chunk before
    /// the one the next node goes to is full; at most one empty chunk is kept past it, so that
    /// a calendar going up and down across a chunk's edge does not allocate each time.
    chunks: Vec<Vec<Node>>,
    len: usize,
    root: u32,
}

impl Default for GapIndex {
    fn default() -> GapIndex {
        GapIndex {
            chunks: Vec::new(),
            len: 0,
            root: NIL,
        }
    }
}

/// The gap before an entry starting at `start_ms` whose previous entry ends at `previous_end_ms`.
pub fn gap_before_ms(start_ms: i64, previous_end_ms: Option<i64>) -> i64 {
    previous_end_ms.map_or(UNBOUNDED, |end_ms| start_ms - end_ms)
}

impl GapIndex {
    /// Number of entries indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the entry starting at `start_ms` (not yet indexed). The caller then sets the gap
    /// before the entry after it, which this one has shortened.
    pub fn insert(&mut self, start_ms: i64, gap_before_ms: i64, expires_at_ms: i64) {
        let index = self.push(Node {
            start_ms,
            gap_before_ms,
            expires_at_ms,
            gap_max_ms: gap_before_ms,
            expires_min_ms: expires_at_ms,
            left: NIL,
            right: NIL,
            height: 1,
        });
        self.root = self.insert_at(self.root, index);
    }

    /// Removes the entry starting at `start_ms`; returns whether it was indexed. The caller then
    /// sets the gap before the entry after it, which this one's going has widened.
    pub fn remove(&mut self, start_ms: i64) -> bool {
        let (root, removed) = self.remove_at(self.root, start_ms);
        self.root = root;
        match removed {
            Some(index) => {
                self.fill_hole(index);
                true
            }
            None => false,
        }
    }

    /// Sets the gap before the entry starting at `start_ms`; returns whether it is indexed.
    pub fn set_gap_before(&mut self, start_ms: i64, gap_before_ms: i64) -> bool {
        self.update_at(self.root, start_ms, &mut |node| {
            node.gap_before_ms = gap_before_ms
        })
    }

    /// Sets the expiry of the entry starting at `start_ms`; returns whether it is indexed.
    pub fn set_expiry(&mut self, start_ms: i64, expires_at_ms: i64) -> bool {
        self.update_at(self.root, start_ms, &mut |node| {
            node.expires_at_ms = expires_at_ms
        })
    }

    /// The first entry starting after `after_ms` whose gap before is at least `gap_min_ms`, as
    /// `(start_ms, gap_before_ms)`.
    pub fn first_gap_after(&self, after_ms: i64, gap_min_ms: i64) -> Option<(i64, i64)> {
        let from_ms = after_ms.checked_add(1)?;
        let found = self.first_from(
            self.root,
            from_ms,
            &|node| node.gap_max_ms >= gap_min_ms,
            &|node| node.gap_before_ms >= gap_min_ms,
        );
        found.map(|index| {
            let node = self.node(index);
            (node.start_ms, node.gap_before_ms)
        })
    }

    /// The start of the first entry starting at or after `from_ms` whose expiry is at or before
    /// `at_ms`.
    pub fn first_expired_from(&self, from_ms: i64, at_ms: i64) -> Option<i64> {
        let found = self.first_from(
            self.root,
            from_ms,
            &|node| node.expires_min_ms <= at_ms,
            &|node| node.expires_at_ms <= at_ms,
        );
        found.map(|index| self.node(index).start_ms)
    }

    /// Checks the invariants of the module doc against the calendar's entries, in order of
    /// start, as `(start_ms, end_ms, expires_at_ms)`.
    pub fn check(&self, entries: impl Iterator<Item = (i64, i64, i64)>) -> Result<(), String> {
        let mut in_order = Vec::with_capacity(self.len);
        self.check_at(self.root, &mut in_order)?;
        if in_order.len() != self.len {
            return Err(format!(
                "{} nodes reachable, {} counted",
                in_order.len(),
                self.len
            ));
        }
        let mut previous_end_ms = None;
        let mut count = 0;
        for (start_ms, end_ms, expires_at_ms) in entries {
            let Some(node) = in_order.get(count) else {
                return Err(format!("entry at {start_ms} missing from the gap index"));
            };
            let expected = (
                start_ms,
                gap_before_ms(start_ms, previous_end_ms),
                expires_at_ms,
            );
            let found = (node.start_ms, node.gap_before_ms, node.expires_at_ms);
            if found != expected {
                return Err(format!(
                    "gap index has {found:?} where the calendar has {expected:?}"
                ));
            }
            previous_end_ms = Some(end_ms);
            count += 1;
        }
        if count != self.len {
            return Err(format!("{} nodes for {count} entries", self.len));
        }
        let chunks_needed = self.len.div_ceil(limits::GAP_INDEX_CHUNK_NODES);
        if self.chunks.len() > chunks_needed + 1 {
            return Err(format!(
                "{} chunks kept for {} nodes",
                self.chunks.len(),
                self.len
            ));
        }
        Ok(())
    }

    fn node(&self, index: u32) -> &Node {
        let index = index as usize;
        &self.chunks[index >> CHUNK_SHIFT][index & CHUNK_MASK]
    }

    fn node_mut(&mut self, index: u32) -> &mut Node {
        let index = index as usize;
        &mut self.chunks[index >> CHUNK_SHIFT][index & CHUNK_MASK]
    }

    /// Puts `node` in the first free place of the arena and answers its index.
    fn push(&mut self, node: Node) -> u32 {
        let index = self.len;
        assert!(index < NIL as usize, "gap index full");
        let chunk = index >> CHUNK_SHIFT;
        if chunk == self.chunks.len() {
            // The first chunk grows as a small calendar does; later ones are whole at once.
            let capacity = if chunk == 0 {
                0
            } else {
                limits::GAP_INDEX_CHUNK_NODES
            };
            self.chunks.push(Vec::with_capacity(capacity));
        }
        self.chunks[chunk].push(node);
        self.len += 1;
        index as u32
    }

    /// Moves the last node into the place `hole` (no longer in the tree) and drops the last
    /// place, so the nodes stay in `0..len`.
    fn fill_hole(&mut self, hole: u32) {
        let last = (self.len - 1) as u32;
        if hole != last {
            let moved = *self.node(last);
            *self.node_mut(hole) = moved;
            self.relink(moved.start_ms, last, hole);
        }
        let chunk = (self.len - 1) >> CHUNK_SHIFT;
        self.chunks[chunk].pop();
        self.len -= 1;
        // One empty chunk past the one the next node goes to is kept; more is waste.
        self.chunks.truncate((self.len >> CHUNK_SHIFT) + 2);
        if self.chunks.len() == 1 {
            let first = &mut self.chunks[0];
            if first.capacity() > 16 && first.len() * 4 < first.capacity() {
                first.shrink_to(first.len() * 2);
            }
        }
    }

    /// Points the link to the node starting at `start_ms` from `from` to `to`.
    fn relink(&mut self, start_ms: i64, from: u32, to: u32) {
        if self.root == from {
            self.root = to;
            return;
        }
        let mut at = self.root;
        while at != NIL {
            let node = *self.node(at);
            let child = if start_ms < node.start_ms {
                node.left
            } else {
                node.right
            };
            if child == from {
                let node = self.node_mut(at);
                if start_ms < node.start_ms {
                    node.left = to;
                } else {
                    node.right = to;
                }
                return;
            }
            at = child;
        }
        unreachable!("node at {start_ms} not linked in the gap index");
    }

    fn height(&self, index: u32) -> u8 {
        if index == NIL {
            0
        } else {
            self.node(index).height
        }
    }

    /// Recomputes `index`'s height and summaries from its own fields and its children's.
    fn refresh(&mut self, index: u32) {
        let node = *self.node(index);
        let (mut gap_max_ms, mut expires_min_ms) = (node.gap_before_ms, node.expires_at_ms);
        for child in [node.left, node.right] {
            if child != NIL {
                let child = self.node(child);
                gap_max_ms = gap_max_ms.max(child.gap_max_ms);
                expires_min_ms = expires_min_ms.min(child.expires_min_ms);
            }
        }
        let height = 1 + self.height(node.left).max(self.height(node.right));
        let node = self.node_mut(index);
        node.gap_max_ms = gap_max_ms;
        node.expires_min_ms = expires_min_ms;
        node.height = height;
    }

    fn rotate_right(&mut self, index: u32) -> u32 {
        let pivot = self.node(index).left;
        self.node_mut(index).left = self.node(pivot).right;
        self.node_mut(pivot).right = index;
        self.refresh(index);
        self.refresh(pivot);
        pivot
    }

    fn rotate_left(&mut self, index: u32) -> u32 {
        let pivot = self.node(index).right;
        self.node_mut(index).right = self.node(pivot).left;
        self.node_mut(pivot).left = index;
        self.refresh(index);
        self.refresh(pivot);
        pivot
    }

    /// Refreshes `index` and restores the AVL balance at it; answers the subtree's new root.
    fn balance(&mut self, index: u32) -> u32 {
        self.refresh(index);
        let node = *self.node(index);
        let (left, right) = (self.height(node.left), self.height(node.right));
        if left > right + 1 {
            let child = *self.node(node.left);
            if self.height(child.left) < self.height(child.right) {
                let rotated = self.rotate_left(node.left);
                self.node_mut(index).left = rotated;
            }
            return self.rotate_right(index);
        }
        if right > left + 1 {
            let child = *self.node(node.right);
            if self.height(child.right) < self.height(child.left) {
                let rotated = self.rotate_right(node.right);
                self.node_mut(index).right = rotated;
            }
            return self.rotate_left(index);
        }
        index
    }

    fn insert_at(&mut self, at: u32, index: u32) -> u32 {
        if at == NIL {
            return index;
        }
        let start_ms = self.node(index).start_ms;
        let node = *self.node(at);
        debug_assert_ne!(start_ms, node.start_ms, "entry at {start_ms} indexed twice");
        if start_ms < node.start_ms {
            let left = self.insert_at(node.left, index);
            self.node_mut(at).left = left;
        } else {
            let right = self.insert_at(node.right, index);
            self.node_mut(at).right = right;
        }
        self.balance(at)
    }

    /// Unlinks the node starting at `start_ms` from the subtree at `at`; answers the subtree's
    /// new root and the unlinked node's index.
    fn remove_at(&mut self, at: u32, start_ms: i64) -> (u32, Option<u32>) {
        if at == NIL {
            return (NIL, None);
        }
        let node = *self.node(at);
        if start_ms < node.start_ms {
            let (left, removed) = self.remove_at(node.left, start_ms);
            self.node_mut(at).left = left;
            return (self.balance(at), removed);
        }
        if start_ms > node.start_ms {
            let (right, removed) = self.remove_at(node.right, start_ms);
            self.node_mut(at).right = right;
            return (self.balance(at), removed);
        }
        if node.left == NIL || node.right == NIL {
            let child = if node.left == NIL {
                node.right
            } else {
                node.left
            };
            return (child, Some(at));
        }
        // Two children: the next entry takes this one's place.
        let (right, next) = self.remove_min(node.right);
        let successor = self.node_mut(next);
        successor.left = node.left;
        successor.right = right;
        (self.balance(next), Some(at))
    }

    /// Unlinks the first node of the subtree at `at`; answers the new root and that node.
    fn remove_min(&mut self, at: u32) -> (u32, u32) {
        let node = *self.node(at);
        if node.left == NIL {
            return (node.right, at);
        }
        let (left, min) = self.remove_min(node.left);
        self.node_mut(at).left = left;
        (self.balance(at), min)
    }

    /// Applies `change` to the node starting at `start_ms` and refreshes the summaries on its
    /// path (the shape does not change, so no rebalancing).
    fn update_at(&mut self, at: u32, start_ms: i64, change: &mut impl FnMut(&mut Node)) -> bool {
        if at == NIL {
            return false;
        }
        let node = *self.node(at);
        let found = if start_ms < node.start_ms {
            self.update_at(node.left, start_ms, change)
        } else if start_ms > node.start_ms {
            self.update_at(node.right, start_ms, change)
        } else {
            change(self.node_mut(at));
            true
        };
        if found {
            self.refresh(at);
        }
        found
    }

    /// The first node of the subtree at `at` starting at or after `from_ms` that `fits`, where
    /// `may_hold` tells from a node's summaries whether its subtree can hold one that fits. Walks
    /// the path to `from_ms` and enters at most one subtree wholly past it whose summary says
    /// yes, which always holds one: `O(log n)`.
    fn first_from(
        &self,
        at: u32,
        from_ms: i64,
        may_hold: &impl Fn(&Node) -> bool,
        fits: &impl Fn(&Node) -> bool,
    ) -> Option<u32> {
        if at == NIL {
            return None;
        }
        let node = self.node(at);
        if !may_hold(node) {
            return None;
        }
        if node.start_ms < from_ms {
            return self.first_from(node.right, from_ms, may_hold, fits);
        }
        if let Some(found) = self.first_from(node.left, from_ms, may_hold, fits) {
            return Some(found);
        }
        if fits(node) {
            return Some(at);
        }
        self.first_from(node.right, from_ms, may_hold, fits)
    }

    /// Checks the subtree at `at` (order, summaries, heights, balance) and appends its nodes in
    /// order to `in_order`.
    fn check_at(&self, at: u32, in_order: &mut Vec<Node>) -> Result<(), String> {
        if at == NIL {
            return Ok(());
        }
        if at as usize >= self.len {
            return Err(format!("node {at} past the last of {}", self.len));
        }
        if in_order.len() > self.len {
            return Err("a cycle in the gap index".into());
        }
        let node = *self.node(at);
        self.check_at(node.left, in_order)?;
        if in_order
            .last()
            .is_some_and(|previous| previous.start_ms >= node.start_ms)
        {
            return Err(format!("node at {} out of order", node.start_ms));
        }
        in_order.push(node);
        self.check_at(node.right, in_order)?;
        let mut expected = node;
        let (left, right) = (self.height(node.left), self.height(node.right));
        if left.abs_diff(right) > 1 {
            return Err(format!("node at {} out of balance", node.start_ms));
        }
        expected.height = 1 + left.max(right);
        expected.gap_max_ms = node.gap_before_ms;
        expected.expires_min_ms = node.expires_at_ms;
        for child in [node.left, node.right] {
            if child != NIL {
                let child = self.node(child);
                expected.gap_max_ms = expected.gap_max_ms.max(child.gap_max_ms);
                expected.expires_min_ms = expected.expires_min_ms.min(child.expires_min_ms);
            }
        }
        let summary = |n: &Node| (n.height, n.gap_max_ms, n.expires_min_ms);
        if summary(&node) != summary(&expected) {
            return Err(format!("node at {} has a stale summary", node.start_ms));
        }
        Ok(())
    }
}
