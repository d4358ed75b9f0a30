//! Time system calls on the syscall path, computed from the same clock state the vDSO
//! reads from the vvar page.

use super::{int_argument, Context};
use linux_personality::Errno;

pub fn sys_clock_gettime(
    context: &mut Context<'_>,
    clock: u64,
    address: u64,
) -> Result<usize, Errno> {
    let time = context
        .server
        .clocks
        .now(int_argument(clock))
        .ok_or(Errno::EINVAL)?;
    context.write_words(address, &[time.seconds as u64, time.nanoseconds as u64])?;
    Ok(0)
}

pub fn sys_clock_getres(
    context: &mut Context<'_>,
    clock: u64,
    address: u64,
) -> Result<usize, Errno> {
    let resolution = context
        .server
        .clocks
        .resolution(int_argument(clock))
        .ok_or(Errno::EINVAL)?;
    if address != 0 {
        context.write_words(
            address,
            &[resolution.seconds as u64, resolution.nanoseconds as u64],
        )?;
    }
    Ok(0)
}

pub fn sys_gettimeofday(
    context: &mut Context<'_>,
    timeval: u64,
    timezone: u64,
) -> Result<usize, Errno> {
    if timeval != 0 {
        let time = context.server.clocks.now(0).ok_or(Errno::EINVAL)?;
        context.write_words(
            timeval,
            &[time.seconds as u64, (time.nanoseconds / 1000) as u64],
        )?;
    }
    if timezone != 0 {
        context.write_user(timezone, &[0u8; 8])?;
    }
    Ok(0)
}
