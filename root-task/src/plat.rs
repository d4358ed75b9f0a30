//! QEMU `virt` board facts the process server uses: the PL031 real-time clock.

/// Physical address of the PL031 RTC.
pub const PL031_BASE: u64 = 0x0901_0000;
/// The PL031 data register (RTCDR): seconds since the epoch, read-only.
pub const PL031_DATA_OFFSET: usize = 0x000;
