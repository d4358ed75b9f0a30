//! IPC objects: endpoints and notifications.
// STAND-IN: the threads-ipc branch provides the real one
pub mod endpoint;
pub mod notification;
