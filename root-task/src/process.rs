//! Processes and threads as the server keeps them, and the open file descriptions they
//! share.
//!
//! A process owns its address space, descriptor table, working directory, credentials
//! and signal dispositions; a thread owns its TCB, its CNode (two slots: nothing a program
//! could use, and in slot 1 the fault endpoint badged with the thread id), its signal
//! mask, and while it waits in a system call, the reply capability that will wake it.

use crate::address_space::AddressSpace;
use alloc::vec::Vec;
use linux_personality::fs::{FdTable, InodeId, OpenFile};
use linux_personality::process::{WaitOptions, WaitTarget};
use linux_personality::signal::{PendingSignals, SignalActions, SignalSet, ThreadSignals};
use linux_personality::Credentials;
use sel4::CPtr;

/// A process id (also its main thread's id).
pub type Pid = u32;
/// A thread id (the badge of its fault endpoint cap).
pub type Tid = u32;

/// An open file description.
#[derive(Clone, Debug)]
pub enum Description {
    /// A file of the in-memory file system, devices included.
    File(OpenFile),
    /// One end of a pipe (`crate::linux::pipe`).
    Pipe(crate::linux::pipe::PipeEnd),
    /// A file of `/proc`, generated when opened (`crate::linux::procfs`).
    Proc(crate::linux::procfs::ProcFile),
}

/// The `brk` heap: `[start, end)`, backed by a heap area up to `end` rounded to pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Break {
    pub start: u64,
    pub end: u64,
}

/// One process.
#[derive(Debug)]
pub struct Process {
    pub pid: Pid,
    pub space: AddressSpace,
    pub heap: Break,
    /// Where the vDSO text is mapped (AT_SYSINFO_EHDR), if there is a vDSO.
    pub vdso_base: Option<u64>,
    pub files: FdTable,
    pub cwd: InodeId,
    pub umask: u32,
    pub credentials: Credentials,
    pub actions: SignalActions,
    /// Signals sent to the process (`kill`), taken by whichever thread does not block them.
    pub pending: PendingSignals,
    /// `Some` while stopped by a stop signal: the threads suspended until `SIGCONT`.
    pub stopped: Option<Vec<Tid>>,
    pub threads: Vec<Tid>,
    /// The path it was executed from (`/proc/self/exe`, AT_EXECFN).
    pub executable: Vec<u8>,
    /// Its argv, each argument NUL-terminated (`/proc/<pid>/cmdline`).
    pub command_line: Vec<u8>,
    /// Soft RLIMIT_STACK, bytes.
    pub stack_limit: u64,
    /// A vfork child runs in this process's memory until it execs or exits (its own
    /// `space` is an empty placeholder meanwhile).
    pub vfork_parent: Option<Pid>,
    /// `RLIMIT_NPROC`, inherited by children.
    pub process_limit: linux_personality::process::limits::Limit,
}

/// Why a thread is parked (its system call has not been answered yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// `wait4` for a child to change state.
    Child {
        target: WaitTarget,
        options: WaitOptions,
        status_address: u64,
        rusage_address: u64,
    },
    /// `rt_sigsuspend`: until a signal runs a handler or ends the process.
    Signal,
    /// `rt_sigtimedwait` without a timeout: until a signal of `set` is pending.
    /// (A nonzero timeout waits the same way until the timer service adds a deadline.)
    QueuedSignal { set: SignalSet, info_address: u64 },
    /// `waitid` for a child to change state: the report is a `siginfo_t`.
    ChildInfo {
        target: WaitTarget,
        options: WaitOptions,
        info_address: u64,
        rusage_address: u64,
    },
    /// `futex` wait: queued in [`crate::server::Server::futexes`] under the thread id.
    Futex,
    /// A vfork parent, until `child` execs or exits.
    Vfork { child: Pid },
    /// `nanosleep`/`clock_nanosleep` until its timer (`crate::timer`) expires; a signal
    /// that interrupts it stores the time left at `remaining` (0: nowhere).
    Sleep { remaining: u64 },
    /// `clock_nanosleep` on a CPU-time clock until `whose` reaches `target` nanoseconds
    /// of `kind` time (`crate::linux::usage`); `remaining` as for [`Wait::Sleep`].
    CpuSleep {
        whose: crate::accounting::Whose,
        kind: linux_personality::process::cpu_time::CpuClockKind,
        target: u64,
        remaining: u64,
    },
    /// `read`/`readv` on the console until the line discipline has data.
    ConsoleRead { target: crate::console::ReadTarget },
    /// A read, write or poll on files not ready yet; retried when a pipe changes
    /// (`crate::linux::pipe::wake_io_waiters`).
    Io(crate::linux::pipe::IoWait),
}

/// Where a thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Running, or in a system call the server is handling right now.
    Running,
    /// Waiting; `reply` is the saved reply cap that answers its system call.
    Parked {
        reply: CPtr,
        wait: Wait,
        /// x0..x7, FaultIP, SP, LR, SPSR as the call left them.
        registers: [u64; 12],
    },
}

/// One thread.
#[derive(Debug)]
pub struct Thread {
    pub tid: Tid,
    pub pid: Pid,
    pub tcb: CPtr,
    /// Its CSpace root: slot 1 holds the fault endpoint badged with `tid`.
    pub cnode: CPtr,
    pub state: ThreadState,
    /// `set_tid_address` / CLONE_CHILD_CLEARTID.
    pub clear_child_tid: u64,
    /// `set_robust_list`.
    pub robust_list: u64,
    /// Blocked mask, thread-directed pending signals, alternate stack.
    pub signals: ThreadSignals,
    /// The address of the last memory fault (`sigcontext.fault_address`).
    pub fault_address: u64,
    /// CPU time and counters (`crate::accounting`).
    pub times: linux_personality::process::cpu_time::ThreadTimes,
}
