//! What an attacker knows from the published counts, and how: every count that is published
//! (or absent), and every count that follows from a cover. Built once per indicator and
//! quarter, then kept up to date as complementary suppression hides counts, instead of being
//! derived again from scratch after every round.

use super::{Status, Structure};

/// No cover: a count known because it is published (or absent), or not known at all.
pub(super) const NONE: u32 = u32::MAX;

/// Per unit (and the total, the last entry): whether an attacker knows its count and, for a
/// derived one, the cover it follows from; per cover, the unit it derives.
pub(super) struct Knowledge {
    pub(super) known: Vec<bool>,
    pub(super) via: Vec<u32>,
    derives: Vec<u32>,
    /// Scratch for [`Self::hide`]: covers waiting to be looked at again.
    queued: Vec<bool>,
    work: Vec<u32>,
}

impl Knowledge {
    /// What an attacker knows before any cover is used: published counts and units without
    /// data (not the total); nothing derived yet.
    pub(super) fn at_start(s: &Structure, status: &[Status]) -> Self {
        let mut known: Vec<bool> = status
            .iter()
            .map(|st| matches!(st, Status::Published | Status::Absent))
            .collect();
        known.push(false);
        Self {
            known,
            via: vec![NONE; status.len() + 1],
            derives: vec![NONE; s.covers.len()],
            queued: Vec::new(),
            work: Vec::new(),
        }
    }

    /// Everything that follows from the published counts: sweeps over the covers in order
    /// until nothing changes, each cover seeing what the ones before it found. After the
    /// first sweep only covers with a unit that became known since they were last looked at
    /// can find more: they are queued, for this sweep when the sweep has not reached them
    /// yet, else for the next one. The same `via` as full sweeps, without going over
    /// millions of covers again for a few changes.
    pub(super) fn new(s: &Structure, status: &[Status]) -> Self {
        let mut k = Self::at_start(s, status);
        let mut q = SweepQueue::new(s.covers.len());
        for i in 0..s.covers.len() {
            if let Some(u) = k.follows(s, i) {
                // The first sweep reaches the later covers anyway.
                q.queue(s.covers_of(u), i, false);
            }
        }
        while q.next_sweep() {
            while let Some(i) = q.pop() {
                if let Some(u) = k.follows(s, i) {
                    q.queue(s.covers_of(u), i, true);
                }
            }
        }
        k
    }

    /// Uses cover `i` once: the unit (or total) that now follows from it, marked known and
    /// derived via `i`, if any.
    pub(super) fn follows(&mut self, s: &Structure, i: usize) -> Option<usize> {
        let c = &s.covers[i];
        let w = c.whole.map_or(s.len(), |w| w as usize);
        let known = &self.known;
        let mut unknown = c.parts.iter().filter(|&&x| !known[x as usize]);
        let found = match (known[w], unknown.next(), unknown.next()) {
            (true, Some(&only), None) => only as usize,
            (false, None, _) => w,
            _ => return None,
        };
        self.known[found] = true;
        self.via[found] = u32::try_from(i).unwrap_or(NONE);
        self.derives[i] = u32::try_from(found).unwrap_or(NONE);
        Some(found)
    }

    /// Takes back what the published counts `hidden` (just hidden) told: they are no longer
    /// known as published, and every count derived through a cover with a unit no longer
    /// known loses that derivation, transitively; then whatever still follows through
    /// another cover is derived again (only covers with a unit no longer known can derive
    /// anything new). The known counts are then exactly those a derivation from scratch
    /// finds; a count may be derived through another cover than a sweep from scratch would
    /// take. Appends the units (and the total) no longer known to `lost`.
    pub(super) fn hide(&mut self, s: &Structure, hidden: &[u32], lost: &mut Vec<u32>) {
        let mut removed: Vec<u32> = Vec::new();
        let mut stack: Vec<u32> = Vec::new();
        for &y in hidden {
            if self.known[y as usize] && self.via[y as usize] == NONE {
                self.known[y as usize] = false;
                stack.push(y);
            }
        }
        while let Some(x) = stack.pop() {
            removed.push(x);
            for &c in s.covers_of(x as usize) {
                let z = self.derives[c as usize];
                if z == NONE {
                    continue;
                }
                self.derives[c as usize] = NONE;
                self.via[z as usize] = NONE;
                if z != x {
                    self.known[z as usize] = false;
                    stack.push(z);
                }
            }
        }
        if self.queued.len() != s.covers.len() {
            self.queued = vec![false; s.covers.len()];
        }
        let mut work = std::mem::take(&mut self.work);
        for &x in &removed {
            for &c in s.covers_of(x as usize) {
                if !self.queued[c as usize] {
                    self.queued[c as usize] = true;
                    work.push(c);
                }
            }
        }
        while let Some(c) = work.pop() {
            self.queued[c as usize] = false;
            if let Some(z) = self.follows(s, c as usize) {
                for &c2 in s.covers_of(z) {
                    if !self.queued[c2 as usize] {
                        self.queued[c2 as usize] = true;
                        work.push(c2);
                    }
                }
            }
        }
        self.work = work;
        lost.extend(removed.into_iter().filter(|&x| !self.known[x as usize]));
    }

    /// The cover unit `u` follows from, if it is derived.
    pub(super) fn via(&self, u: usize) -> Option<usize> {
        let c = self.via[u];
        (c != NONE).then_some(c as usize)
    }
}

/// The covers [`Knowledge::new`] looks at again: in this sweep, in cover order, and in the
/// next.
struct SweepQueue {
    now: std::collections::BinaryHeap<std::cmp::Reverse<u32>>,
    next: Vec<u32>,
    in_now: Vec<bool>,
    in_next: Vec<bool>,
}

impl SweepQueue {
    fn new(covers: usize) -> Self {
        Self {
            now: std::collections::BinaryHeap::new(),
            next: Vec::new(),
            in_now: vec![false; covers],
            in_next: vec![false; covers],
        }
    }

    /// Queues `covers` after a change at cover `at`: those the sweep has not reached yet for
    /// this sweep (`this_sweep`, else they are looked at anyway), the others for the next.
    fn queue(&mut self, covers: &[u32], at: usize, this_sweep: bool) {
        for &c in covers {
            let ci = c as usize;
            if ci > at {
                if this_sweep && !self.in_now[ci] {
                    self.in_now[ci] = true;
                    self.now.push(std::cmp::Reverse(c));
                }
            } else if !self.in_next[ci] {
                self.in_next[ci] = true;
                self.next.push(c);
            }
        }
    }

    /// Starts the next sweep with what was queued for it; false when nothing was.
    fn next_sweep(&mut self) -> bool {
        if self.next.is_empty() {
            return false;
        }
        for c in self.next.drain(..) {
            self.in_next[c as usize] = false;
            self.in_now[c as usize] = true;
            self.now.push(std::cmp::Reverse(c));
        }
        true
    }

    /// The next cover of this sweep, in cover order.
    fn pop(&mut self) -> Option<usize> {
        let std::cmp::Reverse(c) = self.now.pop()?;
        self.in_now[c as usize] = false;
        Some(c as usize)
    }
}

/// Relations of one kind (covers, nested pairs) to look at in one scan, in their order: all of
/// them, or a set given at the start; a relation joined while the scan runs is looked at in it
/// when it comes after the one being looked at (the caller sees to those before it in the
/// next scan).
pub(super) struct Scan {
    /// A scan of all: the next index and the end.
    all: Option<(u32, u32)>,
    /// A scan of a set: the set in order, the next of it, and those joined since.
    list: Vec<u32>,
    next: usize,
    joined: std::collections::BinaryHeap<std::cmp::Reverse<u32>>,
    /// In `list` (not looked at yet) or `joined`.
    queued: Vec<bool>,
    /// The relation being looked at.
    at: Option<u32>,
    /// A set of more relations than this is scanned as all.
    most: usize,
}

impl Scan {
    /// A scan of `len` relations; sets of more than `most` are scanned as all (which is then
    /// quicker than putting them in order).
    pub(super) fn new(len: usize, most: usize) -> Self {
        Self {
            most,
            all: None,
            list: Vec::new(),
            next: 0,
            joined: std::collections::BinaryHeap::new(),
            queued: vec![false; len],
            at: None,
        }
    }

    /// Starts a scan of every relation (dropping a set being gathered).
    pub(super) fn all(&mut self) {
        for &i in &self.list[self.next..] {
            self.queued[i as usize] = false;
        }
        self.list.clear();
        self.next = 0;
        self.all = Some((0, u32::try_from(self.queued.len()).unwrap_or(NONE)));
        self.at = None;
    }

    /// Starts a scan of `relations` (repeats are looked at once); of all when they are more
    /// than the most given to [`Self::new`]. (A scan runs to its end before the next starts,
    /// so nothing is left in the set from the one before.)
    pub(super) fn of(&mut self, relations: impl IntoIterator<Item = u32>) {
        self.all = None;
        self.at = None;
        let most = self.most;
        for i in relations {
            if !self.queued[i as usize] {
                self.queued[i as usize] = true;
                self.list.push(i);
                if self.list.len() > most {
                    self.all();
                    return;
                }
            }
        }
        self.list.sort_unstable();
    }

    /// Adds relation `i` to the running scan when it comes after the one being looked at (a
    /// scan of all reaches it anyway).
    pub(super) fn join(&mut self, i: u32) {
        if self.all.is_none() && self.at.is_some_and(|a| i > a) && !self.queued[i as usize] {
            self.queued[i as usize] = true;
            self.joined.push(std::cmp::Reverse(i));
        }
    }

    /// The next relation of this scan, in order; `None` at its end.
    pub(super) fn next(&mut self) -> Option<usize> {
        let i = if let Some((next, end)) = self.all.as_mut() {
            let i = (*next < *end).then(|| {
                *next += 1;
                *next - 1
            });
            if i.is_none() {
                self.all = None;
            }
            i
        } else {
            let from_list = self.list.get(self.next).copied();
            let from_joined = self.joined.peek().map(|r| r.0);
            let i = match (from_list, from_joined) {
                (Some(a), Some(b)) if b < a => {
                    self.joined.pop();
                    Some(b)
                }
                (Some(a), _) => {
                    self.next += 1;
                    Some(a)
                }
                (None, Some(b)) => {
                    self.joined.pop();
                    Some(b)
                }
                (None, None) => {
                    self.list.clear();
                    self.next = 0;
                    None
                }
            };
            if let Some(i) = i {
                self.queued[i as usize] = false;
            }
            i
        };
        self.at = i;
        i.map(|i| i as usize)
    }
}
