//! The scheduler's ready queues (seL4's `ksReadyQueues` and its two-level bitmap): 256
//! priorities, each a FIFO of runnable threads linked through the threads themselves,
//! and a bitmap of non-empty priorities so the highest one is found in O(1).
//!
//! Round-robin within a priority is the caller's: when a thread's time slice ends, it
//! is moved to the back of its queue ([`ReadyQueues::move_to_back`]) and the head of
//! the highest non-empty priority runs next.

/// Number of priorities (`seL4_MaxPrio + 1`).
pub const PRIORITY_COUNT: usize = 256;

/// Bits in one bitmap word.
const WORD_BITS: usize = u64::BITS as usize;
/// Second-level bitmap words: one bit per priority.
const LEVEL2_WORDS: usize = PRIORITY_COUNT / WORD_BITS;

/// The intrusive links of a ready queue, stored in the threads (the kernel keeps them in
/// its TCBs; tests in a map). `Thread` names a thread: a TCB address or an index.
///
/// # Invariants
/// The links and the queued flag of a thread are changed only through [`ReadyQueues`]
/// while the thread is queued, and its priority does not change while it is queued
/// (the kernel removes it, changes the priority, and appends it again).
pub trait QueueLinks {
    type Thread: Copy + Eq;
    fn next(&self, thread: Self::Thread) -> Option<Self::Thread>;
    fn prev(&self, thread: Self::Thread) -> Option<Self::Thread>;
    fn set_next(&mut self, thread: Self::Thread, next: Option<Self::Thread>);
    fn set_prev(&mut self, thread: Self::Thread, prev: Option<Self::Thread>);
    /// Whether the thread is in a ready queue (seL4's `tcbQueued`).
    fn is_queued(&self, thread: Self::Thread) -> bool;
    fn set_queued(&mut self, thread: Self::Thread, queued: bool);
}

/// One priority's queue: its first and last thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Queue<T> {
    head: Option<T>,
    tail: Option<T>,
}

/// The ready queues of every priority.
#[derive(Clone, Debug)]
pub struct ReadyQueues<T> {
    queues: [Queue<T>; PRIORITY_COUNT],
    /// Bit `i` set when `level2[i]` is non-zero.
    level1: u64,
    /// Bit `p % 64` of word `p / 64` set when priority `p` has a thread.
    level2: [u64; LEVEL2_WORDS],
}

impl<T: Copy + Eq> Default for ReadyQueues<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Eq> ReadyQueues<T> {
    const EMPTY_QUEUE: Queue<T> = Queue {
        head: None,
        tail: None,
    };

    /// No thread ready at any priority.
    pub const fn new() -> Self {
        Self {
            queues: [Self::EMPTY_QUEUE; PRIORITY_COUNT],
            level1: 0,
            level2: [0; LEVEL2_WORDS],
        }
    }

    /// The highest priority with a ready thread (two leading-zero counts).
    pub fn highest_priority(&self) -> Option<u8> {
        if self.level1 == 0 {
            return None;
        }
        let word = highest_bit(self.level1);
        let bits = self.level2.get(word).copied().unwrap_or(0);
        if bits == 0 {
            return None;
        }
        u8::try_from(word * WORD_BITS + highest_bit(bits)).ok()
    }

    /// The thread at the front of `priority`'s queue.
    pub fn head(&self, priority: u8) -> Option<T> {
        self.queue(priority).head
    }

    /// The thread to run next: the front of the highest non-empty priority.
    pub fn choose(&self) -> Option<T> {
        self.highest_priority()
            .and_then(|priority| self.head(priority))
    }

    /// Whether no thread is ready.
    pub fn is_empty(&self) -> bool {
        self.level1 == 0
    }

    /// Puts `thread` at the back of `priority`'s queue (seL4's `tcbSchedAppend`); does
    /// nothing if it is already queued.
    pub fn append<L: QueueLinks<Thread = T>>(&mut self, links: &mut L, thread: T, priority: u8) {
        if links.is_queued(thread) {
            return;
        }
        let queue = self.queue(priority);
        links.set_prev(thread, queue.tail);
        links.set_next(thread, None);
        match queue.tail {
            Some(tail) => links.set_next(tail, Some(thread)),
            None => self.mark_non_empty(priority),
        }
        self.set_queue(
            priority,
            Queue {
                head: queue.head.or(Some(thread)),
                tail: Some(thread),
            },
        );
        links.set_queued(thread, true);
    }

    /// Puts `thread` at the front of `priority`'s queue (seL4's `tcbSchedEnqueue`, used
    /// when a preempted thread should resume first); does nothing if already queued.
    pub fn prepend<L: QueueLinks<Thread = T>>(&mut self, links: &mut L, thread: T, priority: u8) {
        if links.is_queued(thread) {
            return;
        }
        let queue = self.queue(priority);
        links.set_prev(thread, None);
        links.set_next(thread, queue.head);
        match queue.head {
            Some(head) => links.set_prev(head, Some(thread)),
            None => self.mark_non_empty(priority),
        }
        self.set_queue(
            priority,
            Queue {
                head: Some(thread),
                tail: queue.tail.or(Some(thread)),
            },
        );
        links.set_queued(thread, true);
    }

    /// Takes `thread` out of `priority`'s queue (seL4's `tcbSchedDequeue`); does nothing
    /// if it is not queued.
    pub fn remove<L: QueueLinks<Thread = T>>(&mut self, links: &mut L, thread: T, priority: u8) {
        if !links.is_queued(thread) {
            return;
        }
        let mut queue = self.queue(priority);
        let prev = links.prev(thread);
        let next = links.next(thread);
        match prev {
            Some(prev) => links.set_next(prev, next),
            None => queue.head = next,
        }
        match next {
            Some(next) => links.set_prev(next, prev),
            None => queue.tail = prev,
        }
        if queue.head.is_none() {
            self.mark_empty(priority);
        }
        self.set_queue(priority, queue);
        links.set_prev(thread, None);
        links.set_next(thread, None);
        links.set_queued(thread, false);
    }

    /// Round-robin: moves a queued `thread` to the back of its queue (a thread that is
    /// not queued is appended).
    pub fn move_to_back<L: QueueLinks<Thread = T>>(
        &mut self,
        links: &mut L,
        thread: T,
        priority: u8,
    ) {
        self.remove(links, thread, priority);
        self.append(links, thread, priority);
    }

    fn queue(&self, priority: u8) -> Queue<T> {
        self.queues
            .get(usize::from(priority))
            .copied()
            .unwrap_or(Self::EMPTY_QUEUE)
    }

    fn set_queue(&mut self, priority: u8, queue: Queue<T>) {
        if let Some(entry) = self.queues.get_mut(usize::from(priority)) {
            *entry = queue;
        }
    }

    fn mark_non_empty(&mut self, priority: u8) {
        let (word, bit) = bitmap_position(priority);
        if let Some(bits) = self.level2.get_mut(word) {
            *bits |= 1 << bit;
            self.level1 |= 1 << word;
        }
    }

    fn mark_empty(&mut self, priority: u8) {
        let (word, bit) = bitmap_position(priority);
        if let Some(bits) = self.level2.get_mut(word) {
            *bits &= !(1 << bit);
            if *bits == 0 {
                self.level1 &= !(1 << word);
            }
        }
    }
}

/// The level-2 word and bit of `priority`.
const fn bitmap_position(priority: u8) -> (usize, usize) {
    let priority = priority as usize;
    (priority / WORD_BITS, priority % WORD_BITS)
}

/// Index of the highest set bit of a non-zero word.
const fn highest_bit(word: u64) -> usize {
    (u64::BITS - 1 - word.leading_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Links {
        next: HashMap<u32, u32>,
        prev: HashMap<u32, u32>,
        queued: HashMap<u32, bool>,
    }

    impl QueueLinks for Links {
        type Thread = u32;
        fn next(&self, thread: u32) -> Option<u32> {
            self.next.get(&thread).copied()
        }
        fn prev(&self, thread: u32) -> Option<u32> {
            self.prev.get(&thread).copied()
        }
        fn set_next(&mut self, thread: u32, next: Option<u32>) {
            match next {
                Some(next) => self.next.insert(thread, next),
                None => self.next.remove(&thread),
            };
        }
        fn set_prev(&mut self, thread: u32, prev: Option<u32>) {
            match prev {
                Some(prev) => self.prev.insert(thread, prev),
                None => self.prev.remove(&thread),
            };
        }
        fn is_queued(&self, thread: u32) -> bool {
            self.queued.get(&thread).copied().unwrap_or(false)
        }
        fn set_queued(&mut self, thread: u32, queued: bool) {
            self.queued.insert(thread, queued);
        }
    }

    /// The queue of `priority` front to back, checking the back links on the way.
    fn order(queues: &ReadyQueues<u32>, links: &Links, priority: u8) -> Vec<u32> {
        let mut threads = Vec::new();
        let mut previous = None;
        let mut current = queues.head(priority);
        while let Some(thread) = current {
            assert_eq!(links.prev(thread), previous, "back link of {thread}");
            assert!(links.is_queued(thread));
            assert!(threads.len() < 1000, "cycle");
            threads.push(thread);
            previous = Some(thread);
            current = links.next(thread);
        }
        assert_eq!(queues.queue(priority).tail, previous, "tail of {priority}");
        threads
    }

    #[test]
    fn empty_queues() {
        let queues = ReadyQueues::<u32>::new();
        assert!(queues.is_empty());
        assert_eq!(queues.highest_priority(), None);
        assert_eq!(queues.choose(), None);
        assert_eq!(queues.head(255), None);
    }

    #[test]
    fn highest_priority_across_bitmap_words() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        for (thread, priority) in [(1, 0u8), (2, 63), (3, 64), (4, 200), (5, 255), (6, 127)] {
            queues.append(&mut links, thread, priority);
        }
        let mut seen = Vec::new();
        while let Some(priority) = queues.highest_priority() {
            let thread = queues.choose().expect("a thread at the highest priority");
            seen.push((priority, thread));
            queues.remove(&mut links, thread, priority);
        }
        assert_eq!(
            seen,
            vec![(255, 5), (200, 4), (127, 6), (64, 3), (63, 2), (0, 1)]
        );
        assert!(queues.is_empty());
    }

    #[test]
    fn round_robin_within_a_priority() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        for thread in 1..=3 {
            queues.append(&mut links, thread, 10);
        }
        queues.append(&mut links, 9, 5);
        let mut ran = Vec::new();
        for _ in 0..6 {
            let thread = queues.choose().expect("ready");
            ran.push(thread);
            queues.move_to_back(&mut links, thread, 10);
        }
        assert_eq!(ran, vec![1, 2, 3, 1, 2, 3]);
        assert_eq!(order(&queues, &links, 10), vec![1, 2, 3]);
        assert_eq!(order(&queues, &links, 5), vec![9]);
        // A single thread moved to the back stays the only one.
        queues.move_to_back(&mut links, 9, 5);
        assert_eq!(order(&queues, &links, 5), vec![9]);
    }

    #[test]
    fn removal_from_head_middle_and_tail() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        for thread in 1..=5 {
            queues.append(&mut links, thread, 100);
        }
        queues.remove(&mut links, 3, 100);
        assert_eq!(order(&queues, &links, 100), vec![1, 2, 4, 5]);
        queues.remove(&mut links, 1, 100);
        assert_eq!(order(&queues, &links, 100), vec![2, 4, 5]);
        queues.remove(&mut links, 5, 100);
        assert_eq!(order(&queues, &links, 100), vec![2, 4]);
        assert!(!links.is_queued(5) && links.next(5).is_none() && links.prev(5).is_none());
        queues.remove(&mut links, 2, 100);
        queues.remove(&mut links, 4, 100);
        assert_eq!(order(&queues, &links, 100), Vec::<u32>::new());
        assert_eq!(queues.highest_priority(), None);
    }

    #[test]
    fn operations_are_idempotent() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        queues.append(&mut links, 1, 7);
        queues.append(&mut links, 1, 7);
        queues.prepend(&mut links, 1, 7);
        assert_eq!(order(&queues, &links, 7), vec![1]);
        queues.remove(&mut links, 1, 7);
        queues.remove(&mut links, 1, 7);
        assert!(queues.is_empty());
        // Removing a thread that was never queued leaves others alone.
        queues.append(&mut links, 2, 7);
        queues.remove(&mut links, 3, 7);
        assert_eq!(order(&queues, &links, 7), vec![2]);
    }

    #[test]
    fn prepend_puts_a_thread_first() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        queues.prepend(&mut links, 1, 42);
        queues.append(&mut links, 2, 42);
        queues.prepend(&mut links, 3, 42);
        assert_eq!(order(&queues, &links, 42), vec![3, 1, 2]);
        assert_eq!(queues.choose(), Some(3));
    }

    #[test]
    fn bitmap_tracks_emptiness_per_word() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        queues.append(&mut links, 1, 65);
        queues.append(&mut links, 2, 66);
        queues.remove(&mut links, 2, 66);
        // Priority 65 is still ready in the same bitmap word.
        assert_eq!(queues.highest_priority(), Some(65));
        queues.remove(&mut links, 1, 65);
        assert_eq!(queues.highest_priority(), None);
        assert_eq!(queues.level1, 0);
        assert_eq!(queues.level2, [0; LEVEL2_WORDS]);
    }

    #[test]
    fn every_priority_round_trips() {
        let mut queues = ReadyQueues::new();
        let mut links = Links::default();
        for priority in 0..=u8::MAX {
            queues.append(&mut links, u32::from(priority), priority);
            assert_eq!(queues.highest_priority(), Some(priority));
        }
        for priority in (0..=u8::MAX).rev() {
            assert_eq!(queues.choose(), Some(u32::from(priority)));
            queues.remove(&mut links, u32::from(priority), priority);
        }
        assert!(queues.is_empty());
    }
}
