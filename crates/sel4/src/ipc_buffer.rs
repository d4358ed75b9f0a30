//! The IPC buffer (`seL4_IPCBuffer`): 1024 bytes per thread.

use crate::MSG_MAX_LENGTH;

/// One thread's IPC buffer, laid out exactly as seL4's.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct IpcBuffer {
    pub tag: u64,
    pub msg: [u64; MSG_MAX_LENGTH],
    pub user_data: u64,
    pub caps_or_badges: [u64; 3],
    pub receive_cnode: u64,
    pub receive_index: u64,
    pub receive_depth: u64,
}

/// log2 of the IPC buffer's size and alignment.
pub const IPC_BUFFER_SIZE_BITS: u32 = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_sel4() {
        assert_eq!(size_of::<IpcBuffer>(), 1024);
        assert_eq!(offset_of!(IpcBuffer, msg), 8);
        assert_eq!(offset_of!(IpcBuffer, user_data), 968);
        assert_eq!(offset_of!(IpcBuffer, caps_or_badges), 976);
        assert_eq!(offset_of!(IpcBuffer, receive_cnode), 1000);
        assert_eq!(offset_of!(IpcBuffer, receive_index), 1008);
        assert_eq!(offset_of!(IpcBuffer, receive_depth), 1016);
    }
}
