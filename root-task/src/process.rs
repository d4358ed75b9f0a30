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
use linux_personality::signal::{SignalActions, SignalSet};
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
    pub threads: Vec<Tid>,
    /// The path it was executed from (`/proc/self/exe`, AT_EXECFN).
    pub executable: Vec<u8>,
    /// Its argv, each argument NUL-terminated (`/proc/<pid>/cmdline`).
    pub command_line: Vec<u8>,
    /// Soft RLIMIT_STACK, bytes.
    pub stack_limit: u64,
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
    pub signal_mask: SignalSet,
}
