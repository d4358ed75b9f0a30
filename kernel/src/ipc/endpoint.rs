//! Endpoints (synchronous IPC).
// STAND-IN: the threads-ipc branch provides the real one. No thread can block on an
// endpoint in this branch, so there is nothing to cancel.

/// Cancels all IPC queued on the endpoint at `endpoint`.
pub fn finalise(endpoint: u64) {
    let _ = endpoint;
}

/// Cancels sends queued on the endpoint at `endpoint` carrying `badge`.
pub fn cancel_badged_sends(endpoint: u64, badge: u64) {
    let _ = (endpoint, badge);
}
