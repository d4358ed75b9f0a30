//! System calls that belong to no larger family: uname, getrandom, sched_yield.

use super::Context;
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
