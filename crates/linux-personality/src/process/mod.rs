//! Process bookkeeping for the process server: the process table, wait statuses and
//! child selection, futex wait queues, and `clone` flag decoding.

pub mod clone_flags;
pub mod cpu_time;
pub mod futex;
pub mod limits;
pub mod table;
pub mod wait_status;

pub use clone_flags::{
    decode_clone, CallerRole, CloneError, CloneRequest, Inheritance, ThreadGroup, VforkWait,
};
pub use futex::{
    decode_futex, parse_timespec, FutexArguments, FutexClock, FutexCommand, FutexKey, FutexQueues,
    FutexRequest, FutexScope, FutexSpace, FutexTimeout, RequeueOutcome, WaiterId,
};
pub use table::{
    ExecState, ExitOutcome, ForkRequest, JobState, LifeState, ParentChoice, Process, ProcessTable,
};
pub use wait_status::{
    select_child, ChildState, Consume, WaitOptions, WaitReport, WaitSelection, WaitStatus,
    WaitTarget, WaitableChild,
};
