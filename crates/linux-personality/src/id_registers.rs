//! Emulation of EL0 reads of the CPU ID registers (`mrs Xt, MIDR_EL1` and friends), as Linux
//! does behind HWCAP_CPUID: decoding the trapped instruction (or a class-0x18 syndrome) and
//! the value a process sees, from one table of this CPU's user-visible ID values.
//!
//! Linux emulates `MRS` with op0=3, op1=0, CRn=0 and CRm 0 or 2..=7 (the ID register space;
//! Documentation/arch/arm64/cpu-feature-registers.rst). MIDR_EL1 reads the real MIDR,
//! MPIDR_EL1 reads 0x8000_0000, REVIDR_EL1 reads 0; the feature registers read their
//! sanitised user view (visible fields as the CPU has them, hidden fields at their "safe"
//! value); every other register of the space reads 0. Anything else stays SIGILL.

/// The user view of the ID registers a process may read, one CPU model's worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRegisterValues {
    /// Main ID register: the CPU's own value, not sanitised.
    pub midr: u64,
    /// Each other register with a non-zero user view: its encoding and value.
    pub features: &'static [(SystemRegister, u64)],
}

/// A system register's encoding (op0, op1, CRn, CRm, op2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemRegister {
    pub op0: u8,
    pub op1: u8,
    pub crn: u8,
    pub crm: u8,
    pub op2: u8,
}

impl SystemRegister {
    /// The register with this encoding.
    #[must_use]
    pub const fn new(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Self {
        Self {
            op0,
            op1,
            crn,
            crm,
            op2,
        }
    }

    /// True for Linux's emulated ID space: op0=3, op1=0, CRn=0, CRm 0 or 2..=7.
    #[must_use]
    pub const fn is_emulated_id_space(self) -> bool {
        self.op0 == 3 && self.op1 == 0 && self.crn == 0 && self.crm != 1 && self.crm <= 7
    }
}

pub const MIDR_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 0, 0);
pub const MPIDR_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 0, 5);
pub const REVIDR_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 0, 6);
pub const ID_ISAR5_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 2, 5);
pub const MVFR0_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 3, 0);
pub const MVFR1_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 3, 1);
pub const ID_AA64PFR0_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 4, 0);
pub const ID_AA64PFR1_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 4, 1);
pub const ID_AA64DFR0_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 5, 0);
pub const ID_AA64ISAR0_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 6, 0);
pub const ID_AA64ISAR1_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 6, 1);
pub const ID_AA64MMFR0_EL1: SystemRegister = SystemRegister::new(3, 0, 0, 7, 0);

/// What Linux's MPIDR_EL1 emulation returns (only the RES1 bit 31: no affinity leaks).
pub const MPIDR_USER_VALUE: u64 = 0x8000_0000;

/// QEMU's `cortex-a57` (the CPU the system runs on), as Linux shows it to processes.
///
/// Derived from QEMU's values (target/arm cpu64.c `aarch64_a57_initfn`) and Linux's
/// visibility rules (arch/arm64/kernel/cpufeature.c, cpu-feature-registers.rst):
/// - MIDR 0x411f_d070: implementer Arm, variant 1, part 0xd07, revision 0.
/// - ID_AA64PFR0 0x2222 -> 0x11: FP and AdvSIMD (both 0, implemented) are visible; EL0
///   and EL1 are hidden at their safe value 1 (AArch64 only); GIC, EL2, EL3 hidden at 0.
/// - ID_AA64ISAR0 0x1_1120: AES=2 (with PMULL), SHA1=1, SHA2=1, CRC32=1, all visible.
/// - ID_AA64DFR0 0x1030_5106 -> 0x6: only DebugVer, hidden at its safe value 6 (v8.0).
/// - ID_AA64MMFR0 0x1124 -> 0x111_ff00_0000: every field hidden; TGran4 and TGran64 at
///   0xf (not implemented), TGran4_2/TGran64_2/TGran16_2 at 1, the rest 0.
/// - ID_ISAR5 0x1_1121 -> 0x1_1120 (AES, SHA1, SHA2, CRC32 visible; SEVL hidden at 0);
///   MVFR0 0x1011_0222 -> 0x200 (FPDP); MVFR1 0x1211_1111 -> 0x1001_1100 (SIMDFMAC,
///   SIMDSP, SIMDInt, SIMDLS).
/// - ID_AA64PFR1, ID_AA64ISAR1, ID_AA64ZFR0, ID_AA64MMFR1/2 read 0 on this CPU.
pub const CORTEX_A57: IdRegisterValues = IdRegisterValues {
    midr: 0x411f_d070,
    features: &[
        (ID_ISAR5_EL1, 0x0001_1120),
        (MVFR0_EL1, 0x0000_0200),
        (MVFR1_EL1, 0x1001_1100),
        (ID_AA64PFR0_EL1, 0x0000_0011),
        (ID_AA64DFR0_EL1, 0x0000_0006),
        (ID_AA64ISAR0_EL1, 0x0001_1120),
        (ID_AA64MMFR0_EL1, 0x0000_0111_ff00_0000),
    ],
};

impl IdRegisterValues {
    /// The value a process reads from `register`, or `None` outside the emulated space.
    #[must_use]
    pub fn read(&self, register: SystemRegister) -> Option<u64> {
        if !register.is_emulated_id_space() {
            return None;
        }
        if register == MIDR_EL1 {
            return Some(self.midr);
        }
        if register == MPIDR_EL1 {
            return Some(MPIDR_USER_VALUE);
        }
        Some(
            self.features
                .iter()
                .find(|(known, _)| *known == register)
                .map_or(0, |(_, value)| *value),
        )
    }
}

/// Where an emulated read's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// General-purpose register X0..=X30.
    Register(u8),
    /// Rt = 31: XZR, the value is discarded.
    Zero,
}

/// An emulated ID register read: set the destination, then step over the instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatedRead {
    pub destination: Destination,
    pub value: u64,
}

/// `MRS` (system register read): bits 31..20 = 0b1101_0101_0011 (op0 is 2 or 3).
const MRS_MASK: u32 = 0xfff0_0000;
const MRS_BITS: u32 = 0xd530_0000;

/// Decodes an instruction that raised an unknown-reason exception (ESR class 0x00): an
/// emulatable `MRS Xt, <ID register>` gives the read, anything else `None`.
#[must_use]
pub fn decode_instruction(instruction: u32, values: &IdRegisterValues) -> Option<EmulatedRead> {
    if instruction & MRS_MASK != MRS_BITS {
        return None;
    }
    let register = SystemRegister::new(
        field(instruction, 19, 2),
        field(instruction, 16, 3),
        field(instruction, 12, 4),
        field(instruction, 8, 4),
        field(instruction, 5, 3),
    );
    read(register, field(instruction, 0, 5), values)
}

/// Decodes the ISS of a trapped MSR/MRS/system instruction (ESR class 0x18, FEAT_IDST):
/// a read (direction bit 0 set) of an emulated ID register gives the read.
#[must_use]
pub fn decode_trap_syndrome(iss: u32, values: &IdRegisterValues) -> Option<EmulatedRead> {
    const DIRECTION_READ: u32 = 1;
    if iss & DIRECTION_READ == 0 {
        return None;
    }
    let register = SystemRegister::new(
        field(iss, 20, 2),
        field(iss, 14, 3),
        field(iss, 10, 4),
        field(iss, 1, 4),
        field(iss, 17, 3),
    );
    read(register, field(iss, 5, 5), values)
}

fn read(register: SystemRegister, rt: u8, values: &IdRegisterValues) -> Option<EmulatedRead> {
    let value = values.read(register)?;
    let destination = if rt == 31 {
        Destination::Zero
    } else {
        Destination::Register(rt)
    };
    Some(EmulatedRead { destination, value })
}

/// Bits `shift..shift + width` of `word` (width at most 5, so the result fits a byte).
const fn field(word: u32, shift: u32, width: u32) -> u8 {
    ((word >> shift) & ((1 << width) - 1)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `mrs x<rt>, <register>` as the assembler does.
    fn mrs(register: SystemRegister, rt: u32) -> u32 {
        MRS_BITS
            | u32::from(register.op0 & 1) << 19
            | u32::from(register.op1) << 16
            | u32::from(register.crn) << 12
            | u32::from(register.crm) << 8
            | u32::from(register.op2) << 5
            | rt
    }

    /// Encodes the class-0x18 ISS of a read of `register` into x<rt>.
    fn trap_iss(register: SystemRegister, rt: u32) -> u32 {
        u32::from(register.op0) << 20
            | u32::from(register.op2) << 17
            | u32::from(register.op1) << 14
            | u32::from(register.crn) << 10
            | rt << 5
            | u32::from(register.crm) << 1
            | 1
    }

    #[test]
    fn assembler_encodings_decode() {
        // Bytes from `as`: mrs x0, midr_el1 / mrs x3, id_aa64isar0_el1 /
        // mrs x30, id_aa64pfr0_el1 / mrs xzr, mpidr_el1.
        let cases = [
            (0xd538_0000, Destination::Register(0), 0x411f_d070),
            (0xd538_0603, Destination::Register(3), 0x1_1120),
            (0xd538_041e, Destination::Register(30), 0x11),
            (0xd538_00bf, Destination::Zero, MPIDR_USER_VALUE),
        ];
        for (instruction, destination, value) in cases {
            assert_eq!(
                decode_instruction(instruction, &CORTEX_A57),
                Some(EmulatedRead { destination, value }),
                "{instruction:#x}"
            );
        }
        assert_eq!(mrs(MIDR_EL1, 0), 0xd538_0000);
        assert_eq!(mrs(ID_AA64ISAR0_EL1, 3), 0xd538_0603);
    }

    #[test]
    fn id_space_reads_follow_linux() {
        assert_eq!(CORTEX_A57.read(REVIDR_EL1), Some(0));
        assert_eq!(CORTEX_A57.read(ID_AA64ISAR1_EL1), Some(0));
        assert_eq!(CORTEX_A57.read(ID_AA64PFR1_EL1), Some(0));
        assert_eq!(CORTEX_A57.read(ID_AA64DFR0_EL1), Some(6));
        // Unallocated encodings of the space read 0 too.
        assert_eq!(CORTEX_A57.read(SystemRegister::new(3, 0, 0, 7, 7)), Some(0));
        assert_eq!(CORTEX_A57.read(SystemRegister::new(3, 0, 0, 2, 0)), Some(0));
        // CRm=1 (ID_PFR0 and the other AArch32 registers) is not emulated.
        assert_eq!(CORTEX_A57.read(SystemRegister::new(3, 0, 0, 1, 0)), None);
        // Neither is anything outside op0=3, op1=0, CRn=0, CRm<=7.
        assert_eq!(CORTEX_A57.read(SystemRegister::new(3, 0, 0, 8, 0)), None);
        assert_eq!(CORTEX_A57.read(SystemRegister::new(3, 3, 0, 0, 1)), None);
        assert_eq!(CORTEX_A57.read(SystemRegister::new(3, 0, 1, 0, 0)), None);
        assert_eq!(CORTEX_A57.read(SystemRegister::new(2, 0, 0, 0, 0)), None);
    }

    #[test]
    fn other_instructions_are_not_emulated() {
        let not_emulated = [
            0x0000_5ca1, // udf (the rewritten svc)
            0xd400_0001, // svc #0
            0xd518_0000, // msr midr_el1, x0 (a write)
            0xd53b_0020, // mrs x0, ctr_el0 (op1=3: EL0 may read it natively)
            0xd538_1000, // mrs x0, sctlr_el1 (CRn=1)
            0xd538_0100, // mrs x0, id_pfr0_el1 (CRm=1)
            0xd530_0000, // op0=2: a debug register
            0xd503_201f, // nop
        ];
        for instruction in not_emulated {
            assert_eq!(
                decode_instruction(instruction, &CORTEX_A57),
                None,
                "{instruction:#x}"
            );
        }
    }

    #[test]
    fn trap_syndrome_decodes_like_the_instruction() {
        for register in [MIDR_EL1, MPIDR_EL1, ID_AA64PFR0_EL1, ID_AA64MMFR0_EL1] {
            for rt in [0, 7, 30, 31] {
                assert_eq!(
                    decode_trap_syndrome(trap_iss(register, rt), &CORTEX_A57),
                    decode_instruction(mrs(register, rt), &CORTEX_A57)
                );
            }
        }
        // A write (direction 0) is never emulated.
        assert_eq!(
            decode_trap_syndrome(trap_iss(MIDR_EL1, 0) & !1, &CORTEX_A57),
            None
        );
        assert_eq!(
            decode_trap_syndrome(trap_iss(SystemRegister::new(3, 0, 1, 0, 0), 0), &CORTEX_A57),
            None
        );
    }

    #[test]
    fn every_word_decodes_without_panicking_and_consistently() {
        // A sweep over the MRS space plus a stride through all words: fuzz-safe, and only
        // the emulated space is accepted.
        let mut word: u32 = 0;
        loop {
            check(word);
            match word.checked_add(0x0001_0003) {
                Some(next) => word = next,
                None => break,
            }
        }
        for low in 0..0x0010_0000u32 {
            check(MRS_BITS | low);
        }
        fn check(word: u32) {
            if let Some(read) = decode_instruction(word, &CORTEX_A57) {
                assert_eq!(word & MRS_MASK, MRS_BITS);
                assert_eq!(field(word, 19, 2), 3);
                assert_eq!(field(word, 16, 3), 0);
                assert_eq!(field(word, 12, 4), 0);
                assert!(field(word, 8, 4) != 1 && field(word, 8, 4) <= 7);
                assert_eq!(read.destination == Destination::Zero, word & 31 == 31);
            }
            let _ = decode_trap_syndrome(word, &CORTEX_A57);
        }
    }
}
