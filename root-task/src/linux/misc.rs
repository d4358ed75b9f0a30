//! System calls that belong to no larger family: uname, getrandom, sched_yield,
//! sched_getaffinity and sched_setaffinity.

use super::{int_argument, Context};
use linux_personality::fs::RandomSource;
use linux_personality::Errno;

/// `struct utsname`: six fields of 65 bytes.
const UTS_FIELD: usize = 65;

pub fn sys_uname(context: &mut Context<'_>, address: u64) -> Result<usize, Errno> {
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"sel4-linux",
        b"6.1.0-sel4-linux",
        b"#1 SMP sel4-linux process server",
        b"aarch64",
        b"(none)",
    ];
    let mut bytes = [0u8; UTS_FIELD * 6];
    for (index, field) in fields.iter().enumerate() {
        let start = index * UTS_FIELD;
        bytes[start..start + field.len()].copy_from_slice(field);
    }
    context.write_user(address, &bytes)?;
    Ok(0)
}

pub fn sys_getrandom(
    context: &mut Context<'_>,
    buffer: u64,
    length: u64,
    flags: u64,
) -> Result<usize, Errno> {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let length = (length as usize).min(crate::user_memory::MAX_COPY);
    let mut bytes = alloc::vec![0u8; length];
    context.server.random.stir(crate::arch::counter());
    context.server.random.fill(&mut bytes);
    context.write_user(buffer, &bytes)?;
    Ok(length)
}

pub fn sys_sched_yield(_context: &mut Context<'_>) -> Result<usize, Errno> {
    // The caller is answered at once; the kernel's scheduler rotates equal priorities.
    Ok(0)
}

/// Bytes of the CPU mask Linux copies out: one `unsigned long` covers the one CPU.
const CPU_MASK_BYTES: u64 = 8;

/// The thread a `sched_*affinity` pid argument names: 0 is the caller.
fn affinity_target(context: &Context<'_>, pid: u64) -> Result<(), Errno> {
    let pid = int_argument(pid);
    // No thread has a negative id: ESRCH, as Linux's look-up answers.
    if pid < 0 || (pid != 0 && !context.server.threads.contains_key(&(pid as u32))) {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

/// One CPU: the mask has bit 0. Returns the bytes written, as the raw call does (musl
/// clears the rest of the caller's set).
pub fn sys_sched_getaffinity(
    context: &mut Context<'_>,
    pid: u64,
    size: u64,
    address: u64,
) -> Result<usize, Errno> {
    // Linux: the buffer must hold every possible CPU and be whole longs.
    if size == 0 || !size.is_multiple_of(CPU_MASK_BYTES) {
        return Err(Errno::EINVAL);
    }
    affinity_target(context, pid)?;
    let length = size.min(CPU_MASK_BYTES);
    let mask = 1u64.to_le_bytes();
    context.write_user(address, &mask[..length as usize])?;
    Ok(length as usize)
}

/// Accepted when the mask includes CPU 0 (the only one); EINVAL otherwise, as Linux
/// answers a mask with no online CPU.
pub fn sys_sched_setaffinity(
    context: &mut Context<'_>,
    pid: u64,
    size: u64,
    address: u64,
) -> Result<usize, Errno> {
    let mut first = [0u8; 1];
    if size > 0 {
        context.read_user(address, &mut first)?;
    }
    affinity_target(context, pid)?;
    if first[0] & 1 == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
