//! The Linux system-call layer: one dispatch table keyed by the aarch64 numbers, one
//! file per family. Each system call is a function `sys_<name>(context, arguments...) ->
//! Result<usize, Errno>`; a call that must not be answered now (it parks the thread, or
//! ends it) says so through [`Context::after`].
//!
//! To add a system call: write `sys_<name>` in its family's file and add its row to
//! [`call`]. Unknown numbers return ENOSYS, logged once per number at warn level.

pub mod clock_set;
pub mod fs;
pub mod futex;
pub mod misc;
pub mod mm;
pub mod pipe;
pub mod poll;
pub mod process;
pub mod procfs;
pub mod signal;
pub mod time;
pub mod usage;

use crate::process::{Pid, Process, Tid};
use crate::server::Server;
use crate::user_memory::UserMemory;
use alloc::vec::Vec;
use linux_personality::{Errno, Syscall};

/// What happens to the calling thread after its system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Answer with the result.
    Reply,
    /// No answer now: the thread was parked (reply cap saved) or no longer exists.
    NoReply,
}

/// One system call in progress.
pub struct Context<'a> {
    pub server: &'a mut Server,
    pub tid: Tid,
    pub pid: Pid,
    /// x0..x7, FaultIP (the `svc`), SP, LR, SPSR as the call left them.
    pub registers: &'a [u64; 12],
    pub after: After,
}

/// Serves system call `number` for thread `tid`; `Some(x0)` to answer with, `None` if
/// the thread must not be answered now.
pub fn dispatch(server: &mut Server, tid: Tid, number: u64, registers: &[u64; 12]) -> Option<u64> {
    let pid = server.threads.get(&tid)?.pid;
    let mut context = Context {
        server,
        tid,
        pid,
        registers,
        after: After::Reply,
    };
    let arguments = [
        registers[0],
        registers[1],
        registers[2],
        registers[3],
        registers[4],
        registers[5],
    ];
    let result = match Syscall::from_number(number) {
        Some(syscall) => call(&mut context, syscall, arguments),
        None => Err(Errno::ENOSYS),
    };
    if result == Err(Errno::ENOSYS) && context.server.warned.insert(number) {
        let name = linux_personality::syscall_number::name(number).unwrap_or("unknown");
        log::warn!("syscall {number} ({name}) not implemented");
    }
    match context.after {
        After::Reply => Some(match result {
            Ok(value) => value as u64,
            Err(errno) => errno.as_negative_return(),
        }),
        After::NoReply => None,
    }
}

/// The dispatch table.
fn call(context: &mut Context<'_>, syscall: Syscall, a: [u64; 6]) -> Result<usize, Errno> {
    use Syscall as S;
    match syscall {
        // Files.
        S::Read => fs::sys_read(context, a[0], a[1], a[2]),
        S::Write => fs::sys_write(context, a[0], a[1], a[2]),
        S::Readv => fs::sys_readv(context, a[0], a[1], a[2]),
        S::Writev => fs::sys_writev(context, a[0], a[1], a[2]),
        S::Pread64 => fs::sys_pread64(context, a[0], a[1], a[2], a[3]),
        S::Pwrite64 => fs::sys_pwrite64(context, a[0], a[1], a[2], a[3]),
        S::Openat => fs::sys_openat(context, a[0], a[1], a[2], a[3]),
        S::Close => fs::sys_close(context, a[0]),
        S::Lseek => fs::sys_lseek(context, a[0], a[1], a[2]),
        S::Fstat => fs::sys_fstat(context, a[0], a[1]),
        S::Newfstatat => fs::sys_newfstatat(context, a[0], a[1], a[2], a[3]),
        S::Getdents64 => fs::sys_getdents64(context, a[0], a[1], a[2]),
        S::Ioctl => fs::sys_ioctl(context, a[0], a[1], a[2]),
        S::Fcntl => fs::sys_fcntl(context, a[0], a[1], a[2]),
        S::Dup => fs::sys_dup(context, a[0]),
        S::Dup3 => fs::sys_dup3(context, a[0], a[1], a[2]),
        S::Getcwd => fs::sys_getcwd(context, a[0], a[1]),
        S::Chdir => fs::sys_chdir(context, a[0]),
        S::Faccessat => fs::sys_faccessat(context, a[0], a[1], a[2], 0),
        S::Faccessat2 => fs::sys_faccessat(context, a[0], a[1], a[2], a[3]),
        S::Readlinkat => fs::sys_readlinkat(context, a[0], a[1], a[2], a[3]),
        S::Mkdirat => fs::sys_mkdirat(context, a[0], a[1], a[2]),
        S::Unlinkat => fs::sys_unlinkat(context, a[0], a[1], a[2]),
        S::Umask => fs::sys_umask(context, a[0]),
        S::Symlinkat => fs::sys_symlinkat(context, a[0], a[1], a[2]),
        S::Linkat => fs::sys_linkat(context, a[0], a[1], a[2], a[3], a[4]),
        S::Renameat => fs::sys_renameat2(context, a[0], a[1], a[2], a[3], 0),
        S::Renameat2 => fs::sys_renameat2(context, a[0], a[1], a[2], a[3], a[4]),
        S::Statx => fs::sys_statx(context, a[0], a[1], a[2], a[3], a[4]),
        S::Fchmodat => fs::sys_fchmodat(context, a[0], a[1], a[2]),
        S::Fchmod => fs::sys_fchmod(context, a[0], a[1]),
        S::Utimensat => fs::sys_utimensat(context, a[0], a[1], a[2], a[3]),
        S::Ftruncate => fs::sys_ftruncate(context, a[0], a[1]),
        S::Truncate => fs::sys_truncate(context, a[0], a[1]),
        S::Fchdir => fs::sys_fchdir(context, a[0]),
        S::Pipe2 => pipe::sys_pipe2(context, a[0], a[1]),
        S::Ppoll => poll::sys_ppoll(context, a[0], a[1], a[2], a[3], a[4]),
        S::Pselect6 => poll::sys_pselect6(context, a[0], a[1], a[2], a[3], a[4], a[5]),
        // Memory.
        S::Brk => mm::sys_brk(context, a[0]),
        S::Mmap => mm::sys_mmap(context, a[0], a[1], a[2], a[3], a[4], a[5]),
        S::Munmap => mm::sys_munmap(context, a[0], a[1]),
        S::Mprotect => mm::sys_mprotect(context, a[0], a[1], a[2]),
        S::Madvise => mm::sys_madvise(context, a[0], a[1], a[2]),
        S::Mremap => mm::sys_mremap(context, a[0], a[1], a[2], a[3], a[4]),
        S::Msync => mm::sys_msync(context, a[0], a[1], a[2]),
        // Processes.
        S::Exit => process::sys_exit(context, a[0]),
        S::ExitGroup => process::sys_exit_group(context, a[0]),
        S::Getpid => process::sys_getpid(context),
        S::Getppid => process::sys_getppid(context),
        S::Gettid => process::sys_gettid(context),
        S::Getuid => process::sys_get_id(context, crate::limits::Id::RealUser),
        S::Geteuid => process::sys_get_id(context, crate::limits::Id::EffectiveUser),
        S::Getgid => process::sys_get_id(context, crate::limits::Id::RealGroup),
        S::Getegid => process::sys_get_id(context, crate::limits::Id::EffectiveGroup),
        S::Setuid => process::sys_setuid(context, a[0]),
        S::Setgid => process::sys_setgid(context, a[0]),
        S::Setrlimit => process::sys_prlimit64(context, 0, a[0], a[1], 0),
        S::SetTidAddress => process::sys_set_tid_address(context, a[0]),
        S::SetRobustList => process::sys_set_robust_list(context, a[0], a[1]),
        S::Clone => process::sys_clone(context, a[0], a[1], a[2], a[3], a[4]),
        S::Execve => process::sys_execve(context, a[0], a[1], a[2]),
        S::Wait4 => process::sys_wait4(context, a[0], a[1], a[2], a[3]),
        S::Prlimit64 => process::sys_prlimit64(context, a[0], a[1], a[2], a[3]),
        S::Getrlimit => process::sys_prlimit64(context, 0, a[0], 0, a[1]),
        S::Waitid => process::sys_waitid(context, a[0], a[1], a[2], a[3], a[4]),
        S::Setpgid => process::sys_setpgid(context, a[0], a[1]),
        S::Getpgid => process::sys_getpgid(context, a[0]),
        S::Getsid => process::sys_getsid(context, a[0]),
        S::Setsid => process::sys_setsid(context),
        S::Getrusage => usage::sys_getrusage(context, a[0], a[1]),
        S::Times => usage::sys_times(context, a[0]),
        S::Sysinfo => process::sys_sysinfo(context, a[0]),
        // Threads.
        S::Futex => futex::sys_futex(context, a[0], a[1], a[2], a[3], a[4], a[5]),
        S::GetRobustList => futex::sys_get_robust_list(context, a[0], a[1], a[2]),
        // Signals.
        S::RtSigaction => signal::sys_rt_sigaction(context, a[0], a[1], a[2], a[3]),
        S::RtSigprocmask => signal::sys_rt_sigprocmask(context, a[0], a[1], a[2], a[3]),
        S::RtSigpending => signal::sys_rt_sigpending(context, a[0], a[1]),
        S::RtSigreturn => signal::sys_rt_sigreturn(context),
        S::RtSigsuspend => signal::sys_rt_sigsuspend(context, a[0], a[1]),
        S::RtSigtimedwait => signal::sys_rt_sigtimedwait(context, a[0], a[1], a[2], a[3]),
        S::RtSigqueueinfo => signal::sys_rt_sigqueueinfo(context, a[0], a[1], a[2]),
        S::Sigaltstack => signal::sys_sigaltstack(context, a[0], a[1]),
        S::Kill => signal::sys_kill(context, a[0], a[1]),
        S::Tkill => signal::sys_tgkill(context, None, a[0], a[1]),
        S::Tgkill => signal::sys_tgkill(context, Some(a[0]), a[1], a[2]),
        // Time.
        S::ClockGettime => time::sys_clock_gettime(context, a[0], a[1]),
        S::ClockGetres => time::sys_clock_getres(context, a[0], a[1]),
        S::Gettimeofday => clock_set::sys_gettimeofday(context, a[0], a[1]),
        S::ClockSettime => clock_set::sys_clock_settime(context, a[0], a[1]),
        S::Settimeofday => clock_set::sys_settimeofday(context, a[0], a[1]),
        S::Nanosleep => time::sys_nanosleep(context, a[0], a[1]),
        S::ClockNanosleep => time::sys_clock_nanosleep(context, a[0], a[1], a[2], a[3]),
        S::Setitimer => time::sys_setitimer(context, a[0], a[1], a[2]),
        S::Getitimer => time::sys_getitimer(context, a[0], a[1]),
        // Everything else.
        S::Uname => misc::sys_uname(context, a[0]),
        S::Getrandom => misc::sys_getrandom(context, a[0], a[1], a[2]),
        S::SchedYield => misc::sys_sched_yield(context),
        S::SchedGetaffinity => misc::sys_sched_getaffinity(context, a[0], a[1], a[2]),
        S::SchedSetaffinity => misc::sys_sched_setaffinity(context, a[0], a[1], a[2]),
        _ => Err(Errno::ENOSYS),
    }
}

impl Context<'_> {
    /// The calling process.
    ///
    /// # Errors
    /// `ESRCH` if it is gone (a server bug).
    pub fn process(&mut self) -> Result<&mut Process, Errno> {
        self.server.processes.get_mut(&self.pid).ok_or(Errno::ESRCH)
    }

    /// Runs `f` on the calling process's memory.
    ///
    /// # Errors
    /// `ESRCH` if the process is gone, else what `f` returns.
    pub fn with_memory<R>(
        &mut self,
        f: impl FnOnce(&mut UserMemory<'_>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        futex::with_memory_of(self.server, self.pid, f)
    }

    /// Copies from user memory.
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn read_user(&mut self, address: u64, out: &mut [u8]) -> Result<(), Errno> {
        self.with_memory(|memory| memory.read(address, out))
    }

    /// Copies to user memory.
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn write_user(&mut self, address: u64, data: &[u8]) -> Result<(), Errno> {
        self.with_memory(|memory| memory.write(address, data))
    }

    /// Reads `length` bytes (bounded by [`crate::user_memory::MAX_COPY`]).
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn read_user_vec(&mut self, address: u64, length: usize) -> Result<Vec<u8>, Errno> {
        self.with_memory(|memory| memory.read_vec(address, length))
    }

    /// Reads a path argument (at most PATH_MAX bytes with its NUL).
    ///
    /// # Errors
    /// `EFAULT`, `ENAMETOOLONG`.
    pub fn read_path(&mut self, address: u64) -> Result<Vec<u8>, Errno> {
        self.with_memory(|memory| {
            memory.read_string(address, linux_personality::fs::path::PATH_MAX - 1)
        })
    }

    /// Reads two 64-bit words as signed values: a `timespec`, a `timeval`, or any pair.
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn read_pair(&mut self, address: u64) -> Result<(i64, i64), Errno> {
        let mut bytes = [0u8; 16];
        self.read_user(address, &mut bytes)?;
        let (first, second) = bytes.split_at(8);
        let word = |half: &[u8]| {
            let mut word = [0u8; 8];
            word.copy_from_slice(half);
            i64::from_le_bytes(word)
        };
        Ok((word(first), word(second)))
    }

    /// Writes a plain-old-data value's bytes.
    ///
    /// # Errors
    /// `EFAULT`.
    pub fn write_words(&mut self, address: u64, words: &[u64]) -> Result<(), Errno> {
        let mut bytes = Vec::with_capacity(words.len() * 8);
        for word in words {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        self.write_user(address, &bytes)
    }
}

/// The low 32 bits of an `int` argument, sign-extended as the C ABI passes it.
pub fn int_argument(value: u64) -> i32 {
    value as u32 as i32
}
