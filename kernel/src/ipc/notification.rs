//! Notifications (asynchronous signals).
// STAND-IN: the threads-ipc branch provides the real one. It ORs the badge into the
// notification word so interrupt delivery can be observed, assuming the first word of
// the notification object is its data word.

use crate::object::object_pointer;

/// Signals the notification at `notification` with `badge`.
pub fn signal(notification: u64, badge: u64) {
    let word = object_pointer::<u64>(notification);
    // SAFETY: `notification` is a live notification object (32 bytes) in kernel memory.
    unsafe { word.write(word.read() | badge) };
}

/// Cancels waiters and unbinds the TCB of the notification at `notification`.
pub fn finalise(notification: u64) {
    let _ = notification;
}
