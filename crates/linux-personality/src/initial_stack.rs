//! The initial process stack as Linux builds it for aarch64 at `execve`: argument and
//! environment strings, `AT_RANDOM` bytes, then argc, argv, envp and the auxiliary vector.
//!
//! Layout, from the top down (the order of Linux's `copy_strings` and `create_elf_tables`):
//!
//! ```text
//! stack_top  ->  8 zero bytes
//!                execfn string
//!                envp strings (envp[0] lowest)
//!                argv strings (argv[0] lowest)
//!                padding to 16 bytes
//!                16 AT_RANDOM bytes
//!                padding so sp is 16-byte aligned
//!                auxv pairs ending with AT_NULL
//!                NULL, envp[n-1] .. envp[0]
//!                NULL, argv[n-1] .. argv[0]
//! sp         ->  argc
//! ```
//!
//! Linux also drops the strings' start by a random multiple of 16 when stack
//! randomisation is on; the caller gets the same effect by choosing `stack_top`.

use crate::elf_plan::{LoadPlan, PAGE_SIZE, USER_ADDRESS_LIMIT};
use crate::errno::Errno;
use alloc::vec;
use alloc::vec::Vec;

/// End of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// Entry to be ignored.
pub const AT_IGNORE: u64 = 1;
/// File descriptor of the program (not used by this system).
pub const AT_EXECFD: u64 = 2;
/// Address of the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// Size of one program header.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// Page size.
pub const AT_PAGESZ: u64 = 6;
/// Base address of the interpreter (0 for a static program).
pub const AT_BASE: u64 = 7;
/// Flags (always 0 on Linux).
pub const AT_FLAGS: u64 = 8;
/// Program entry point.
pub const AT_ENTRY: u64 = 9;
/// The program is not ELF.
pub const AT_NOTELF: u64 = 10;
/// Real user id.
pub const AT_UID: u64 = 11;
/// Effective user id.
pub const AT_EUID: u64 = 12;
/// Real group id.
pub const AT_GID: u64 = 13;
/// Effective group id.
pub const AT_EGID: u64 = 14;
/// Address of a string naming the platform.
pub const AT_PLATFORM: u64 = 15;
/// CPU capability bits (`HWCAP_*`).
pub const AT_HWCAP: u64 = 16;
/// Clock ticks per second, for `times`.
pub const AT_CLKTCK: u64 = 17;
/// Nonzero if the program runs with changed privileges.
pub const AT_SECURE: u64 = 23;
/// Address of a string naming the real platform.
pub const AT_BASE_PLATFORM: u64 = 24;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// More CPU capability bits (`HWCAP2_*`).
pub const AT_HWCAP2: u64 = 26;
/// Address of the path the program was executed as.
pub const AT_EXECFN: u64 = 31;
/// Address of the vDSO's ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// Minimal signal stack size the kernel needs for a signal frame.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// Linux's bound on one argument or environment string, NUL included (`MAX_ARG_STRLEN`).
pub const MAX_ARGUMENT_STRING_BYTES: usize = 32 * 4096;

/// One auxiliary vector entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxEntry {
    /// An `AT_*` value.
    pub key: u64,
    /// Its value.
    pub value: u64,
}

/// How large a stack image may grow (`E2BIG` beyond it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackLimits {
    /// Bound on the whole image, strings and tables together.
    pub max_total_bytes: usize,
    /// Bound on one string, NUL included.
    pub max_string_bytes: usize,
}

impl Default for StackLimits {
    /// 256 KiB in all (twice Linux's historical `ARG_MAX`) and Linux's per-string bound.
    fn default() -> Self {
        StackLimits {
            max_total_bytes: 256 * 1024,
            max_string_bytes: MAX_ARGUMENT_STRING_BYTES,
        }
    }
}

/// What goes on a new program's stack.
#[derive(Clone, Copy, Debug)]
pub struct StackRequest<'a> {
    /// One past the highest stack byte; 16-byte aligned.
    pub stack_top: u64,
    /// `argv`, without terminating NULs.
    pub arguments: &'a [&'a [u8]],
    /// `envp`, without terminating NULs.
    pub environment: &'a [&'a [u8]],
    /// The path given to `execve`, for `AT_EXECFN`.
    pub execfn: &'a [u8],
    /// The bytes `AT_RANDOM` points at (musl seeds its stack protector from them).
    pub random_bytes: [u8; 16],
    /// Auxiliary entries other than `AT_RANDOM`, `AT_EXECFN` and `AT_NULL`, which the
    /// builder appends itself once it knows their addresses.
    pub auxv: &'a [AuxEntry],
    /// Size bounds.
    pub limits: StackLimits,
}

/// A built stack: copy `bytes` to `sp` and start the program with that `sp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// The image, to be copied to `sp..stack_top`.
    pub bytes: Vec<u8>,
    /// Initial stack pointer, 16-byte aligned; it points at argc.
    pub sp: u64,
    /// Number of arguments.
    pub argc: u64,
    /// Address of the argv pointer array.
    pub argv_address: u64,
    /// Address of the envp pointer array.
    pub envp_address: u64,
    /// Address of the auxiliary vector.
    pub auxv_address: u64,
    /// Address of the string argv[0] points at (the lowest string).
    pub strings_address: u64,
    /// `AT_RANDOM`: address of the 16 random bytes.
    pub random_address: u64,
    /// `AT_EXECFN`: address of the execfn string.
    pub execfn_address: u64,
}

/// Why a stack could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// The image would exceed [`StackLimits::max_total_bytes`].
    ArgumentListTooLong {
        /// Bytes the image needs (saturating).
        needed: u64,
        /// The bound.
        limit: usize,
    },
    /// One string exceeds [`StackLimits::max_string_bytes`].
    StringTooLong {
        /// Its length, NUL included.
        length: usize,
    },
    /// A string contains NUL, so the program would see it cut short.
    StringContainsNul,
    /// `stack_top` is not 16-byte aligned.
    MisalignedStackTop,
    /// `stack_top` is above the user address space, or too low for the image.
    StackTopOutOfRange,
    /// The caller supplied an entry the builder owns.
    ReservedAuxvEntry {
        /// The entry's key.
        key: u64,
    },
}

impl StackError {
    /// The error `execve` reports for this failure.
    #[must_use]
    pub const fn errno(&self) -> Errno {
        match self {
            StackError::ArgumentListTooLong { .. } | StackError::StringTooLong { .. } => {
                Errno::E2BIG
            }
            StackError::StringContainsNul
            | StackError::MisalignedStackTop
            | StackError::StackTopOutOfRange
            | StackError::ReservedAuxvEntry { .. } => Errno::EINVAL,
        }
    }
}

impl core::fmt::Display for StackError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StackError::ArgumentListTooLong { needed, limit } => {
                write!(
                    formatter,
                    "arguments and environment need {needed} bytes of stack, limit {limit}"
                )
            }
            StackError::StringTooLong { length } => {
                write!(
                    formatter,
                    "an argument or environment string is {length} bytes long"
                )
            }
            StackError::StringContainsNul => {
                formatter.write_str("an argument or environment string contains NUL")
            }
            StackError::MisalignedStackTop => {
                formatter.write_str("stack top is not 16-byte aligned")
            }
            StackError::StackTopOutOfRange => {
                formatter.write_str("stack top is outside the user address space")
            }
            StackError::ReservedAuxvEntry { key } => {
                write!(
                    formatter,
                    "auxv entry {key} is filled in by the stack builder"
                )
            }
        }
    }
}

/// Builds the initial stack image.
///
/// # Errors
/// [`StackError`]; [`StackError::errno`] gives `E2BIG` for oversized argument lists.
pub fn build_initial_stack(request: &StackRequest<'_>) -> Result<InitialStack, StackError> {
    if !request.stack_top.is_multiple_of(16) {
        return Err(StackError::MisalignedStackTop);
    }
    if request.stack_top > USER_ADDRESS_LIMIT + 1 {
        return Err(StackError::StackTopOutOfRange);
    }
    if let Some(entry) = request
        .auxv
        .iter()
        .find(|entry| matches!(entry.key, AT_NULL | AT_RANDOM | AT_EXECFN))
    {
        return Err(StackError::ReservedAuxvEntry { key: entry.key });
    }

    let limits = request.limits;
    let too_long = |needed: u64| StackError::ArgumentListTooLong {
        needed,
        limit: limits.max_total_bytes,
    };
    let all_strings = || {
        request
            .arguments
            .iter()
            .chain(request.environment)
            .chain(core::iter::once(&request.execfn))
    };
    let mut strings_size: u64 = 0;
    for string in all_strings() {
        if string.contains(&0) {
            return Err(StackError::StringContainsNul);
        }
        let length = string.len().saturating_add(1);
        if length > limits.max_string_bytes {
            return Err(StackError::StringTooLong { length });
        }
        strings_size = strings_size.saturating_add(length as u64);
    }
    let argc = request.arguments.len() as u64;
    let envc = request.environment.len() as u64;
    let auxv_entries = (request.auxv.len() as u64).saturating_add(3);
    // argc, argv and its NULL, envp and its NULL, then two words per auxv entry.
    let table_words = argc
        .saturating_add(envc)
        .saturating_add(3)
        .saturating_add(auxv_entries.saturating_mul(2));
    // The image is at least guard, strings, random bytes and table; refusing on this
    // bound first keeps the exact arithmetic below on small numbers.
    let minimum = 8_u64
        .saturating_add(strings_size)
        .saturating_add(16)
        .saturating_add(table_words.saturating_mul(8));
    if minimum > limits.max_total_bytes as u64 {
        return Err(too_long(minimum));
    }

    // From here every size is below max_total_bytes plus alignment, which fits in usize.
    let top = request.stack_top;
    let strings_address = top
        .checked_sub(strings_size.saturating_add(8))
        .ok_or(StackError::StackTopOutOfRange)?;
    let random_address = (strings_address & !15)
        .checked_sub(16)
        .ok_or(StackError::StackTopOutOfRange)?;
    let sp = random_address
        .checked_sub(table_words.saturating_mul(8))
        .ok_or(StackError::StackTopOutOfRange)?
        & !15;
    let size = top - sp;
    if size > limits.max_total_bytes as u64 {
        return Err(too_long(size));
    }
    let mut image = StackImage {
        base: sp,
        bytes: vec![0; size as usize],
    };

    let mut string_cursor = strings_address;
    let mut place_string = |image: &mut StackImage, string: &[u8]| {
        let address = string_cursor;
        image.write(address, string);
        string_cursor += string.len() as u64 + 1;
        address
    };
    let argument_addresses: Vec<u64> = request
        .arguments
        .iter()
        .map(|string| place_string(&mut image, string))
        .collect();
    let environment_addresses: Vec<u64> = request
        .environment
        .iter()
        .map(|string| place_string(&mut image, string))
        .collect();
    let execfn_address = place_string(&mut image, request.execfn);
    image.write(random_address, &request.random_bytes);

    let argv_address = sp + 8;
    let envp_address = argv_address + (argc + 1) * 8;
    let auxv_address = envp_address + (envc + 1) * 8;
    let mut cursor = sp;
    let mut push_word = |image: &mut StackImage, word: u64| {
        image.write(cursor, &word.to_le_bytes());
        cursor += 8;
    };
    push_word(&mut image, argc);
    for address in argument_addresses
        .iter()
        .chain([&0])
        .chain(&environment_addresses)
        .chain([&0])
    {
        push_word(&mut image, *address);
    }
    let builder_entries = [
        AuxEntry {
            key: AT_RANDOM,
            value: random_address,
        },
        AuxEntry {
            key: AT_EXECFN,
            value: execfn_address,
        },
        AuxEntry {
            key: AT_NULL,
            value: 0,
        },
    ];
    for entry in request.auxv.iter().chain(&builder_entries) {
        push_word(&mut image, entry.key);
        push_word(&mut image, entry.value);
    }

    Ok(InitialStack {
        bytes: image.bytes,
        sp,
        argc,
        argv_address,
        envp_address,
        auxv_address,
        strings_address,
        random_address,
        execfn_address,
    })
}

/// The stack image under construction, addressed by user virtual address.
struct StackImage {
    base: u64,
    bytes: Vec<u8>,
}

impl StackImage {
    /// Copies `data` to `address`. Every address the builder computes lies inside the
    /// image, so a miss is a builder bug; it is ignored rather than allowed to panic.
    fn write(&mut self, address: u64, data: &[u8]) {
        let Some(offset) = address
            .checked_sub(self.base)
            .and_then(|offset| usize::try_from(offset).ok())
        else {
            debug_assert!(false, "stack write below the image");
            return;
        };
        match offset
            .checked_add(data.len())
            .and_then(|end| self.bytes.get_mut(offset..end))
        {
            Some(target) => target.copy_from_slice(data),
            None => debug_assert!(false, "stack write past the image"),
        }
    }
}

/// The credentials a process starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
}

/// The machine facts the auxiliary vector reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxvParameters {
    /// `AT_HWCAP` bits.
    pub hwcap: u64,
    /// `AT_CLKTCK`; Linux reports `USER_HZ`, 100.
    pub clock_ticks_per_second: u64,
    /// The process's credentials.
    pub credentials: Credentials,
    /// Where the vDSO is mapped, if there is one (`AT_SYSINFO_EHDR`).
    pub vdso_base: Option<u64>,
}

/// The auxiliary entries for a static program loaded by `plan`, in Linux's order, ready
/// for [`StackRequest::auxv`]. `AT_BASE` is 0: there is no interpreter.
#[must_use]
pub fn static_program_auxv(plan: &LoadPlan, parameters: &AuxvParameters) -> Vec<AuxEntry> {
    let credentials = parameters.credentials;
    let secure = credentials.uid != credentials.euid || credentials.gid != credentials.egid;
    let mut auxv = Vec::with_capacity(16);
    if let Some(base) = parameters.vdso_base {
        auxv.push(AuxEntry {
            key: AT_SYSINFO_EHDR,
            value: base,
        });
    }
    for (key, value) in [
        (AT_HWCAP, parameters.hwcap),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, parameters.clock_ticks_per_second),
        (AT_PHDR, plan.phdr_vaddr),
        (AT_PHENT, plan.phent),
        (AT_PHNUM, plan.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, plan.entry),
        (AT_UID, u64::from(credentials.uid)),
        (AT_EUID, u64::from(credentials.euid)),
        (AT_GID, u64::from(credentials.gid)),
        (AT_EGID, u64::from(credentials.egid)),
        (AT_SECURE, u64::from(secure)),
    ] {
        auxv.push(AuxEntry { key, value });
    }
    auxv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permissions;
    use crate::Segment;
    use proptest::prelude::*;

    const TOP: u64 = 0x7fff_ffff_f000;
    const RANDOM: [u8; 16] = [0xa5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x5a];

    fn request<'a>(
        arguments: &'a [&'a [u8]],
        environment: &'a [&'a [u8]],
        auxv: &'a [AuxEntry],
    ) -> StackRequest<'a> {
        StackRequest {
            stack_top: TOP,
            arguments,
            environment,
            execfn: b"/bin/prog",
            random_bytes: RANDOM,
            auxv,
            limits: StackLimits::default(),
        }
    }

    /// argv and envp strings and auxv pairs, as read back.
    struct Parsed {
        arguments: Vec<Vec<u8>>,
        environment: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    /// Reads the image back as a program would, through `sp` only.
    struct Reader<'a> {
        stack: &'a InitialStack,
        top: u64,
    }

    impl Reader<'_> {
        fn offset(&self, address: u64, length: u64) -> usize {
            assert!(
                address >= self.stack.sp && address + length <= self.top,
                "{address:#x} outside the image"
            );
            (address - self.stack.sp) as usize
        }

        fn word(&self, address: u64) -> u64 {
            assert_eq!(address % 8, 0, "unaligned word at {address:#x}");
            let offset = self.offset(address, 8);
            u64::from_le_bytes(self.stack.bytes[offset..offset + 8].try_into().unwrap())
        }

        fn string(&self, address: u64) -> Vec<u8> {
            let offset = self.offset(address, 1);
            let rest = &self.stack.bytes[offset..];
            let length = rest
                .iter()
                .position(|byte| *byte == 0)
                .expect("NUL-terminated");
            rest[..length].to_vec()
        }

        /// argc, argv, envp and auxv as a C runtime sees them from `sp`.
        fn parse(&self) -> Parsed {
            let mut address = self.stack.sp;
            let argc = self.word(address);
            address += 8;
            let mut arguments = Vec::new();
            for _ in 0..argc {
                arguments.push(self.string(self.word(address)));
                address += 8;
            }
            assert_eq!(self.word(address), 0, "argv is NULL-terminated");
            address += 8;
            let mut environment = Vec::new();
            while self.word(address) != 0 {
                environment.push(self.string(self.word(address)));
                address += 8;
            }
            address += 8;
            let mut auxv = Vec::new();
            loop {
                let (key, value) = (self.word(address), self.word(address + 8));
                auxv.push((key, value));
                address += 16;
                if key == AT_NULL {
                    break;
                }
            }
            Parsed {
                arguments,
                environment,
                auxv,
            }
        }
    }

    #[test]
    fn matches_linux_layout_exactly() {
        let auxv = [
            AuxEntry {
                key: AT_PAGESZ,
                value: 4096,
            },
            AuxEntry {
                key: AT_ENTRY,
                value: 0x40_0200,
            },
        ];
        let arguments: [&[u8]; 1] = [b"prog"];
        let environment: [&[u8]; 1] = [b"A=1"];
        let stack = build_initial_stack(&request(&arguments, &environment, &auxv)).unwrap();
        // Strings: "prog\0" (5) "A=1\0" (4) "/bin/prog\0" (10) below 8 guard bytes.
        assert_eq!(stack.strings_address, TOP - 8 - 19);
        assert_eq!(stack.execfn_address, TOP - 8 - 10);
        // (TOP - 27) & !15 = TOP - 32, then 16 random bytes.
        assert_eq!(stack.random_address, TOP - 48);
        // 1 + 2 + 2 words, then 5 auxv pairs: 15 words = 120 bytes; TOP - 168 rounds to TOP - 176.
        assert_eq!(stack.sp, TOP - 176);
        assert_eq!(stack.bytes.len(), 176);
        assert_eq!(stack.argv_address, stack.sp + 8);
        assert_eq!(stack.envp_address, stack.sp + 24);
        assert_eq!(stack.auxv_address, stack.sp + 40);
        assert_eq!(&stack.bytes[176 - 8..], &[0; 8], "guard word at the top");

        let reader = Reader {
            stack: &stack,
            top: TOP,
        };
        let Parsed {
            arguments: read_arguments,
            environment: read_environment,
            auxv: read_auxv,
        } = reader.parse();
        assert_eq!(read_arguments, [b"prog".to_vec()]);
        assert_eq!(read_environment, [b"A=1".to_vec()]);
        assert_eq!(
            read_auxv,
            [
                (AT_PAGESZ, 4096),
                (AT_ENTRY, 0x40_0200),
                (AT_RANDOM, TOP - 48),
                (AT_EXECFN, TOP - 18),
                (AT_NULL, 0)
            ]
        );
        assert_eq!(reader.word(stack.argv_address), stack.strings_address);
        assert_eq!(reader.string(stack.execfn_address), b"/bin/prog");
        let random_offset = reader.offset(stack.random_address, 16);
        assert_eq!(stack.bytes[random_offset..random_offset + 16], RANDOM);
    }

    #[test]
    fn strings_are_in_linux_order() {
        let arguments: [&[u8]; 3] = [b"a", b"bb", b"ccc"];
        let environment: [&[u8]; 2] = [b"X=1", b"Y=22"];
        let stack = build_initial_stack(&request(&arguments, &environment, &[])).unwrap();
        let reader = Reader {
            stack: &stack,
            top: TOP,
        };
        let pointers: Vec<u64> = (0..6)
            .map(|index| reader.word(stack.argv_address + index * 8))
            .filter(|pointer| *pointer != 0)
            .collect();
        // argv[0] lowest, each string right after the previous one, envp above argv.
        assert_eq!(pointers[0], stack.strings_address);
        assert_eq!(pointers[1], pointers[0] + 2);
        assert_eq!(pointers[2], pointers[1] + 3);
        let first_environment = reader.word(stack.envp_address);
        assert_eq!(first_environment, pointers[2] + 4);
        assert_eq!(reader.word(stack.envp_address + 8), first_environment + 4);
        assert_eq!(stack.execfn_address, first_environment + 4 + 5);
        assert_eq!(stack.execfn_address + 10, TOP - 8);
    }

    #[test]
    fn empty_argv_and_envp() {
        let stack = build_initial_stack(&request(&[], &[], &[])).unwrap();
        let reader = Reader {
            stack: &stack,
            top: TOP,
        };
        let Parsed {
            arguments,
            environment,
            auxv,
        } = reader.parse();
        assert!(arguments.is_empty() && environment.is_empty());
        assert_eq!(auxv.len(), 3);
        assert_eq!(stack.sp % 16, 0);
    }

    #[test]
    fn argument_list_too_long_is_e2big() {
        let long = vec![b'x'; 1000];
        let arguments: Vec<&[u8]> = (0..300).map(|_| long.as_slice()).collect();
        let error = build_initial_stack(&request(&arguments, &[], &[])).unwrap_err();
        assert!(
            matches!(
                error,
                StackError::ArgumentListTooLong { limit: 262_144, .. }
            ),
            "{error:?}"
        );
        assert_eq!(error.errno(), Errno::E2BIG);

        // The bound is configurable, and exactly-fitting images are accepted.
        let arguments: [&[u8]; 1] = [b"prog"];
        let mut fitting = request(&arguments, &[], &[]);
        let size = build_initial_stack(&fitting).unwrap().bytes.len();
        fitting.limits.max_total_bytes = size;
        assert!(build_initial_stack(&fitting).is_ok());
        fitting.limits.max_total_bytes = size - 16;
        assert_eq!(
            build_initial_stack(&fitting).unwrap_err().errno(),
            Errno::E2BIG
        );
    }

    #[test]
    fn string_too_long_is_e2big() {
        let long = vec![b'x'; MAX_ARGUMENT_STRING_BYTES];
        let environment: [&[u8]; 1] = [&long];
        let mut oversized = request(&[], &environment, &[]);
        oversized.limits.max_total_bytes = 1 << 20;
        let error = build_initial_stack(&oversized).unwrap_err();
        assert_eq!(
            error,
            StackError::StringTooLong {
                length: MAX_ARGUMENT_STRING_BYTES + 1
            }
        );
        assert_eq!(error.errno(), Errno::E2BIG);
    }

    #[test]
    fn invalid_requests() {
        let arguments: [&[u8]; 1] = [b"a\0b"];
        assert_eq!(
            build_initial_stack(&request(&arguments, &[], &[])),
            Err(StackError::StringContainsNul)
        );
        let mut misaligned = request(&[], &[], &[]);
        misaligned.stack_top = TOP - 8;
        assert_eq!(
            build_initial_stack(&misaligned),
            Err(StackError::MisalignedStackTop)
        );
        let mut too_high = request(&[], &[], &[]);
        too_high.stack_top = 0x8000_0000_0010;
        assert_eq!(
            build_initial_stack(&too_high),
            Err(StackError::StackTopOutOfRange)
        );
        let mut too_low = request(&[], &[], &[]);
        too_low.stack_top = 32;
        assert_eq!(
            build_initial_stack(&too_low),
            Err(StackError::StackTopOutOfRange)
        );
        for key in [AT_NULL, AT_RANDOM, AT_EXECFN] {
            let auxv = [AuxEntry { key, value: 1 }];
            assert_eq!(
                build_initial_stack(&request(&[], &[], &auxv)),
                Err(StackError::ReservedAuxvEntry { key })
            );
        }
    }

    #[test]
    fn the_highest_stack_top_is_allowed() {
        let mut highest = request(&[], &[], &[]);
        highest.stack_top = USER_ADDRESS_LIMIT + 1;
        let stack = build_initial_stack(&highest).unwrap();
        assert_eq!(stack.sp + stack.bytes.len() as u64, USER_ADDRESS_LIMIT + 1);
    }

    #[test]
    fn static_program_auxv_reports_the_plan() {
        let plan = LoadPlan {
            kind: crate::elf_plan::ExecutableKind::Static,
            load_bias: 0,
            entry: 0x40_0200,
            segments: vec![Segment {
                vaddr: 0x40_0000,
                mem_size: 0x1000,
                file_offset: 0,
                file_size: 0x1000,
                permissions: Permissions::READ_EXECUTE,
            }],
            phdr_vaddr: 0x40_0040,
            phent: 56,
            phnum: 5,
            tls: None,
            stack_executable: false,
            brk_start: 0x40_1000,
        };
        let parameters = AuxvParameters {
            hwcap: 0xff,
            clock_ticks_per_second: 100,
            credentials: Credentials {
                uid: 1000,
                euid: 0,
                gid: 100,
                egid: 100,
            },
            vdso_base: Some(0x7fff_f000_0000),
        };
        let auxv = static_program_auxv(&plan, &parameters);
        let value = |key| {
            auxv.iter()
                .find(|entry| entry.key == key)
                .map(|entry| entry.value)
        };
        assert_eq!(value(AT_SYSINFO_EHDR), Some(0x7fff_f000_0000));
        assert_eq!(value(AT_PHDR), Some(0x40_0040));
        assert_eq!(value(AT_PHENT), Some(56));
        assert_eq!(value(AT_PHNUM), Some(5));
        assert_eq!(value(AT_ENTRY), Some(0x40_0200));
        assert_eq!(value(AT_PAGESZ), Some(4096));
        assert_eq!(value(AT_BASE), Some(0));
        assert_eq!(value(AT_UID), Some(1000));
        assert_eq!(value(AT_EUID), Some(0));
        assert_eq!(value(AT_SECURE), Some(1), "uid differs from euid");
        assert_eq!(value(AT_HWCAP), Some(0xff));
        assert_eq!(value(AT_CLKTCK), Some(100));
        assert_eq!(value(AT_RANDOM), None, "the stack builder adds AT_RANDOM");
        // The builder accepts it as is.
        let arguments: [&[u8]; 1] = [b"prog"];
        assert!(build_initial_stack(&request(&arguments, &[], &auxv)).is_ok());

        let without_vdso = AuxvParameters {
            vdso_base: None,
            credentials: Credentials::default(),
            ..parameters
        };
        let auxv = static_program_auxv(&plan, &without_vdso);
        assert!(auxv.iter().all(|entry| entry.key != AT_SYSINFO_EHDR));
        assert!(auxv
            .iter()
            .any(|entry| entry.key == AT_SECURE && entry.value == 0));
    }

    fn string_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1_u8..=255, 0..40)
    }

    proptest! {
        #[test]
        fn every_pointer_reads_back(
            arguments in proptest::collection::vec(string_strategy(), 0..12),
            environment in proptest::collection::vec(string_strategy(), 0..12),
            execfn in string_strategy(),
            auxv_keys in proptest::collection::vec(1_u64..24, 0..20),
            random_bytes in any::<[u8; 16]>(),
            top_page in 1_u64..0x7_ffff_ffff,
            top_offset in 0_u64..256,
        ) {
            let argument_slices: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
            let environment_slices: Vec<&[u8]> = environment.iter().map(Vec::as_slice).collect();
            let auxv: Vec<AuxEntry> = auxv_keys.iter().map(|key| AuxEntry { key: *key, value: key * 3 }).collect();
            let stack_top = top_page * PAGE_SIZE - top_offset * 16;
            let request = StackRequest {
                stack_top,
                arguments: &argument_slices,
                environment: &environment_slices,
                execfn: &execfn,
                random_bytes,
                auxv: &auxv,
                limits: StackLimits::default(),
            };
            let stack = build_initial_stack(&request).unwrap();
            prop_assert_eq!(stack.sp % 16, 0);
            prop_assert_eq!(stack.sp + stack.bytes.len() as u64, stack_top);
            let reader = Reader { stack: &stack, top: stack_top };
            let Parsed { arguments: read_arguments, environment: read_environment, auxv: read_auxv } = reader.parse();
            prop_assert_eq!(read_arguments, arguments.clone());
            prop_assert_eq!(read_environment, environment.clone());
            prop_assert_eq!(stack.argc, arguments.len() as u64);
            let mut expected_auxv: Vec<(u64, u64)> = auxv.iter().map(|entry| (entry.key, entry.value)).collect();
            expected_auxv.extend([(AT_RANDOM, stack.random_address), (AT_EXECFN, stack.execfn_address), (AT_NULL, 0)]);
            prop_assert_eq!(read_auxv, expected_auxv);
            prop_assert_eq!(reader.string(stack.execfn_address), execfn);
            let random_offset = reader.offset(stack.random_address, 16);
            prop_assert_eq!(&stack.bytes[random_offset..random_offset + 16], &random_bytes[..]);
            // The random bytes sit above the tables and below the strings.
            let auxv_end = stack.auxv_address + 16 * (auxv.len() as u64 + 3);
            prop_assert!(auxv_end <= stack.random_address);
            prop_assert!(stack.random_address + 16 <= stack.strings_address);
        }
    }
}
