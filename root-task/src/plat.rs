//! QEMU `virt` board facts the process server uses: the PL031 real-time clock and the
//! CPU's ID registers as processes see them.

/// The ID register values EL0 reads are emulated with (`mrs`, HWCAP_CPUID): the board's
/// CPU is QEMU's cortex-a57. The values and their derivation live in
/// [`linux_personality::id_registers::CORTEX_A57`].
pub const CPU_ID_REGISTERS: linux_personality::id_registers::IdRegisterValues =
    linux_personality::id_registers::CORTEX_A57;

/// Physical address of the PL031 RTC.
pub const PL031_BASE: u64 = 0x0901_0000;
/// The PL031 data register (RTCDR): seconds since the epoch, read-only.
pub const PL031_DATA_OFFSET: usize = 0x000;
