//! The aarch64 (asm-generic) Linux system-call numbers, with names for logging.
//!
//! Numbers are from Linux's `include/uapi/asm-generic/unistd.h` as arm64 configures it
//! (`renameat`, `newfstatat`/`fstat` and `getrlimit`/`setrlimit` present; no 32-bit
//! `*_time64` variants), which is also what musl's `arch/aarch64/bits/syscall.h` lists.

/// Declares [`Syscall`] together with its number lookup and name table.
macro_rules! syscall_table {
    ($($variant:ident = $number:literal, $name:ident;)*) => {
        /// An aarch64 Linux system call, by the number a program puts in `x8`.
        #[repr(u64)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Syscall {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($number), ")")]
                $variant = $number,
            )*
        }

        impl Syscall {
            /// The system call with this number, or `None` if aarch64 Linux has none.
            #[must_use]
            pub const fn from_number(number: u64) -> Option<Syscall> {
                match number {
                    $($number => Some(Syscall::$variant),)*
                    _ => None,
                }
            }

            /// Linux's name for the call, such as `"openat"`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Syscall::$variant => stringify!($name),)*
                }
            }

            /// Every known system call, in ascending number order.
            pub const ALL: &'static [Syscall] = &[$(Syscall::$variant,)*];
        }
    };
}

impl Syscall {
    /// The number a program puts in `x8` for this call.
    #[must_use]
    pub const fn number(self) -> u64 {
        self as u64
    }
}

/// Linux's name for a system-call number, for logging an unimplemented call.
#[must_use]
pub const fn name(number: u64) -> Option<&'static str> {
    match Syscall::from_number(number) {
        Some(syscall) => Some(syscall.name()),
        None => None,
    }
}

syscall_table! {
    IoSetup = 0, io_setup;
    IoDestroy = 1, io_destroy;
    IoSubmit = 2, io_submit;
    IoCancel = 3, io_cancel;
    IoGetevents = 4, io_getevents;
    Setxattr = 5, setxattr;
    Lsetxattr = 6, lsetxattr;
    Fsetxattr = 7, fsetxattr;
    Getxattr = 8, getxattr;
    Lgetxattr = 9, lgetxattr;
    Fgetxattr = 10, fgetxattr;
    Listxattr = 11, listxattr;
    Llistxattr = 12, llistxattr;
    Flistxattr = 13, flistxattr;
    Removexattr = 14, removexattr;
    Lremovexattr = 15, lremovexattr;
    Fremovexattr = 16, fremovexattr;
    Getcwd = 17, getcwd;
    LookupDcookie = 18, lookup_dcookie;
    Eventfd2 = 19, eventfd2;
    EpollCreate1 = 20, epoll_create1;
    EpollCtl = 21, epoll_ctl;
    EpollPwait = 22, epoll_pwait;
    Dup = 23, dup;
    Dup3 = 24, dup3;
    Fcntl = 25, fcntl;
    InotifyInit1 = 26, inotify_init1;
    InotifyAddWatch = 27, inotify_add_watch;
    InotifyRmWatch = 28, inotify_rm_watch;
    Ioctl = 29, ioctl;
    IoprioSet = 30, ioprio_set;
    IoprioGet = 31, ioprio_get;
    Flock = 32, flock;
    Mknodat = 33, mknodat;
    Mkdirat = 34, mkdirat;
    Unlinkat = 35, unlinkat;
    Symlinkat = 36, symlinkat;
    Linkat = 37, linkat;
    Renameat = 38, renameat;
    Umount2 = 39, umount2;
    Mount = 40, mount;
    PivotRoot = 41, pivot_root;
    Nfsservctl = 42, nfsservctl;
    Statfs = 43, statfs;
    Fstatfs = 44, fstatfs;
    Truncate = 45, truncate;
    Ftruncate = 46, ftruncate;
    Fallocate = 47, fallocate;
    Faccessat = 48, faccessat;
    Chdir = 49, chdir;
    Fchdir = 50, fchdir;
    Chroot = 51, chroot;
    Fchmod = 52, fchmod;
    Fchmodat = 53, fchmodat;
    Fchownat = 54, fchownat;
    Fchown = 55, fchown;
    Openat = 56, openat;
    Close = 57, close;
    Vhangup = 58, vhangup;
    Pipe2 = 59, pipe2;
    Quotactl = 60, quotactl;
    Getdents64 = 61, getdents64;
    Lseek = 62, lseek;
    Read = 63, read;
    Write = 64, write;
    Readv = 65, readv;
    Writev = 66, writev;
    Pread64 = 67, pread64;
    Pwrite64 = 68, pwrite64;
    Preadv = 69, preadv;
    Pwritev = 70, pwritev;
    Sendfile = 71, sendfile;
    Pselect6 = 72, pselect6;
    Ppoll = 73, ppoll;
    Signalfd4 = 74, signalfd4;
    Vmsplice = 75, vmsplice;
    Splice = 76, splice;
    Tee = 77, tee;
    Readlinkat = 78, readlinkat;
    Newfstatat = 79, newfstatat;
    Fstat = 80, fstat;
    Sync = 81, sync;
    Fsync = 82, fsync;
    Fdatasync = 83, fdatasync;
    SyncFileRange = 84, sync_file_range;
    TimerfdCreate = 85, timerfd_create;
    TimerfdSettime = 86, timerfd_settime;
    TimerfdGettime = 87, timerfd_gettime;
    Utimensat = 88, utimensat;
    Acct = 89, acct;
    Capget = 90, capget;
    Capset = 91, capset;
    Personality = 92, personality;
    Exit = 93, exit;
    ExitGroup = 94, exit_group;
    Waitid = 95, waitid;
    SetTidAddress = 96, set_tid_address;
    Unshare = 97, unshare;
    Futex = 98, futex;
    SetRobustList = 99, set_robust_list;
    GetRobustList = 100, get_robust_list;
    Nanosleep = 101, nanosleep;
    Getitimer = 102, getitimer;
    Setitimer = 103, setitimer;
    KexecLoad = 104, kexec_load;
    InitModule = 105, init_module;
    DeleteModule = 106, delete_module;
    TimerCreate = 107, timer_create;
    TimerGettime = 108, timer_gettime;
    TimerGetoverrun = 109, timer_getoverrun;
    TimerSettime = 110, timer_settime;
    TimerDelete = 111, timer_delete;
    ClockSettime = 112, clock_settime;
    ClockGettime = 113, clock_gettime;
    ClockGetres = 114, clock_getres;
    ClockNanosleep = 115, clock_nanosleep;
    Syslog = 116, syslog;
    Ptrace = 117, ptrace;
    SchedSetparam = 118, sched_setparam;
    SchedSetscheduler = 119, sched_setscheduler;
    SchedGetscheduler = 120, sched_getscheduler;
    SchedGetparam = 121, sched_getparam;
    SchedSetaffinity = 122, sched_setaffinity;
    SchedGetaffinity = 123, sched_getaffinity;
    SchedYield = 124, sched_yield;
    SchedGetPriorityMax = 125, sched_get_priority_max;
    SchedGetPriorityMin = 126, sched_get_priority_min;
    SchedRrGetInterval = 127, sched_rr_get_interval;
    RestartSyscall = 128, restart_syscall;
    Kill = 129, kill;
    Tkill = 130, tkill;
    Tgkill = 131, tgkill;
    Sigaltstack = 132, sigaltstack;
    RtSigsuspend = 133, rt_sigsuspend;
    RtSigaction = 134, rt_sigaction;
    RtSigprocmask = 135, rt_sigprocmask;
    RtSigpending = 136, rt_sigpending;
    RtSigtimedwait = 137, rt_sigtimedwait;
    RtSigqueueinfo = 138, rt_sigqueueinfo;
    RtSigreturn = 139, rt_sigreturn;
    Setpriority = 140, setpriority;
    Getpriority = 141, getpriority;
    Reboot = 142, reboot;
    Setregid = 143, setregid;
    Setgid = 144, setgid;
    Setreuid = 145, setreuid;
    Setuid = 146, setuid;
    Setresuid = 147, setresuid;
    Getresuid = 148, getresuid;
    Setresgid = 149, setresgid;
    Getresgid = 150, getresgid;
    Setfsuid = 151, setfsuid;
    Setfsgid = 152, setfsgid;
    Times = 153, times;
    Setpgid = 154, setpgid;
    Getpgid = 155, getpgid;
    Getsid = 156, getsid;
    Setsid = 157, setsid;
    Getgroups = 158, getgroups;
    Setgroups = 159, setgroups;
    Uname = 160, uname;
    Sethostname = 161, sethostname;
    Setdomainname = 162, setdomainname;
    Getrlimit = 163, getrlimit;
    Setrlimit = 164, setrlimit;
    Getrusage = 165, getrusage;
    Umask = 166, umask;
    Prctl = 167, prctl;
    Getcpu = 168, getcpu;
    Gettimeofday = 169, gettimeofday;
    Settimeofday = 170, settimeofday;
    Adjtimex = 171, adjtimex;
    Getpid = 172, getpid;
    Getppid = 173, getppid;
    Getuid = 174, getuid;
    Geteuid = 175, geteuid;
    Getgid = 176, getgid;
    Getegid = 177, getegid;
    Gettid = 178, gettid;
    Sysinfo = 179, sysinfo;
    MqOpen = 180, mq_open;
    MqUnlink = 181, mq_unlink;
    MqTimedsend = 182, mq_timedsend;
    MqTimedreceive = 183, mq_timedreceive;
    MqNotify = 184, mq_notify;
    MqGetsetattr = 185, mq_getsetattr;
    Msgget = 186, msgget;
    Msgctl = 187, msgctl;
    Msgrcv = 188, msgrcv;
    Msgsnd = 189, msgsnd;
    Semget = 190, semget;
    Semctl = 191, semctl;
    Semtimedop = 192, semtimedop;
    Semop = 193, semop;
    Shmget = 194, shmget;
    Shmctl = 195, shmctl;
    Shmat = 196, shmat;
    Shmdt = 197, shmdt;
    Socket = 198, socket;
    Socketpair = 199, socketpair;
    Bind = 200, bind;
    Listen = 201, listen;
    Accept = 202, accept;
    Connect = 203, connect;
    Getsockname = 204, getsockname;
    Getpeername = 205, getpeername;
    Sendto = 206, sendto;
    Recvfrom = 207, recvfrom;
    Setsockopt = 208, setsockopt;
    Getsockopt = 209, getsockopt;
    Shutdown = 210, shutdown;
    Sendmsg = 211, sendmsg;
    Recvmsg = 212, recvmsg;
    Readahead = 213, readahead;
    Brk = 214, brk;
    Munmap = 215, munmap;
    Mremap = 216, mremap;
    AddKey = 217, add_key;
    RequestKey = 218, request_key;
    Keyctl = 219, keyctl;
    Clone = 220, clone;
    Execve = 221, execve;
    Mmap = 222, mmap;
    Fadvise64 = 223, fadvise64;
    Swapon = 224, swapon;
    Swapoff = 225, swapoff;
    Mprotect = 226, mprotect;
    Msync = 227, msync;
    Mlock = 228, mlock;
    Munlock = 229, munlock;
    Mlockall = 230, mlockall;
    Munlockall = 231, munlockall;
    Mincore = 232, mincore;
    Madvise = 233, madvise;
    RemapFilePages = 234, remap_file_pages;
    Mbind = 235, mbind;
    GetMempolicy = 236, get_mempolicy;
    SetMempolicy = 237, set_mempolicy;
    MigratePages = 238, migrate_pages;
    MovePages = 239, move_pages;
    RtTgsigqueueinfo = 240, rt_tgsigqueueinfo;
    PerfEventOpen = 241, perf_event_open;
    Accept4 = 242, accept4;
    Recvmmsg = 243, recvmmsg;
    Wait4 = 260, wait4;
    Prlimit64 = 261, prlimit64;
    FanotifyInit = 262, fanotify_init;
    FanotifyMark = 263, fanotify_mark;
    NameToHandleAt = 264, name_to_handle_at;
    OpenByHandleAt = 265, open_by_handle_at;
    ClockAdjtime = 266, clock_adjtime;
    Syncfs = 267, syncfs;
    Setns = 268, setns;
    Sendmmsg = 269, sendmmsg;
    ProcessVmReadv = 270, process_vm_readv;
    ProcessVmWritev = 271, process_vm_writev;
    Kcmp = 272, kcmp;
    FinitModule = 273, finit_module;
    SchedSetattr = 274, sched_setattr;
    SchedGetattr = 275, sched_getattr;
    Renameat2 = 276, renameat2;
    Seccomp = 277, seccomp;
    Getrandom = 278, getrandom;
    MemfdCreate = 279, memfd_create;
    Bpf = 280, bpf;
    Execveat = 281, execveat;
    Userfaultfd = 282, userfaultfd;
    Membarrier = 283, membarrier;
    Mlock2 = 284, mlock2;
    CopyFileRange = 285, copy_file_range;
    Preadv2 = 286, preadv2;
    Pwritev2 = 287, pwritev2;
    PkeyMprotect = 288, pkey_mprotect;
    PkeyAlloc = 289, pkey_alloc;
    PkeyFree = 290, pkey_free;
    Statx = 291, statx;
    IoPgetevents = 292, io_pgetevents;
    Rseq = 293, rseq;
    KexecFileLoad = 294, kexec_file_load;
    PidfdSendSignal = 424, pidfd_send_signal;
    IoUringSetup = 425, io_uring_setup;
    IoUringEnter = 426, io_uring_enter;
    IoUringRegister = 427, io_uring_register;
    OpenTree = 428, open_tree;
    MoveMount = 429, move_mount;
    Fsopen = 430, fsopen;
    Fsconfig = 431, fsconfig;
    Fsmount = 432, fsmount;
    Fspick = 433, fspick;
    PidfdOpen = 434, pidfd_open;
    Clone3 = 435, clone3;
    CloseRange = 436, close_range;
    Openat2 = 437, openat2;
    PidfdGetfd = 438, pidfd_getfd;
    Faccessat2 = 439, faccessat2;
    ProcessMadvise = 440, process_madvise;
    EpollPwait2 = 441, epoll_pwait2;
    MountSetattr = 442, mount_setattr;
    QuotactlFd = 443, quotactl_fd;
    LandlockCreateRuleset = 444, landlock_create_ruleset;
    LandlockAddRule = 445, landlock_add_rule;
    LandlockRestrictSelf = 446, landlock_restrict_self;
    ProcessMrelease = 448, process_mrelease;
    FutexWaitv = 449, futex_waitv;
    SetMempolicyHomeNode = 450, set_mempolicy_home_node;
    Cachestat = 451, cachestat;
    Fchmodat2 = 452, fchmodat2;
    MapShadowStack = 453, map_shadow_stack;
    FutexWake = 454, futex_wake;
    FutexWait = 455, futex_wait;
    FutexRequeue = 456, futex_requeue;
    Statmount = 457, statmount;
    Listmount = 458, listmount;
    LsmGetSelfAttr = 459, lsm_get_self_attr;
    LsmSetSelfAttr = 460, lsm_set_self_attr;
    LsmListModules = 461, lsm_list_modules;
    Mseal = 462, mseal;
    ProcessKsmEnable = 463, process_ksm_enable;
    ProcessKsmDisable = 464, process_ksm_disable;
    ProcessKsmStatus = 465, process_ksm_status;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calls issue 4 asks the process server to serve, with the numbers from
    /// Linux's asm-generic `unistd.h`.
    const ISSUE_SYSCALLS: &[(&str, u64)] = &[
        ("getcwd", 17),
        ("dup", 23),
        ("dup3", 24),
        ("fcntl", 25),
        ("ioctl", 29),
        ("mkdirat", 34),
        ("unlinkat", 35),
        ("symlinkat", 36),
        ("renameat", 38),
        ("ftruncate", 46),
        ("faccessat", 48),
        ("chdir", 49),
        ("fchdir", 50),
        ("fchmodat", 53),
        ("openat", 56),
        ("close", 57),
        ("pipe2", 59),
        ("getdents64", 61),
        ("lseek", 62),
        ("read", 63),
        ("write", 64),
        ("readv", 65),
        ("writev", 66),
        ("pread64", 67),
        ("pwrite64", 68),
        ("pselect6", 72),
        ("ppoll", 73),
        ("readlinkat", 78),
        ("newfstatat", 79),
        ("fstat", 80),
        ("utimensat", 88),
        ("exit", 93),
        ("exit_group", 94),
        ("waitid", 95),
        ("set_tid_address", 96),
        ("futex", 98),
        ("set_robust_list", 99),
        ("nanosleep", 101),
        ("getitimer", 102),
        ("setitimer", 103),
        ("clock_settime", 112),
        ("clock_gettime", 113),
        ("clock_getres", 114),
        ("clock_nanosleep", 115),
        ("sched_getaffinity", 123),
        ("sched_yield", 124),
        ("kill", 129),
        ("tkill", 130),
        ("tgkill", 131),
        ("sigaltstack", 132),
        ("rt_sigsuspend", 133),
        ("rt_sigaction", 134),
        ("rt_sigprocmask", 135),
        ("rt_sigpending", 136),
        ("rt_sigtimedwait", 137),
        ("rt_sigreturn", 139),
        ("times", 153),
        ("setpgid", 154),
        ("getpgid", 155),
        ("getsid", 156),
        ("setsid", 157),
        ("uname", 160),
        ("getrusage", 165),
        ("umask", 166),
        ("gettimeofday", 169),
        ("settimeofday", 170),
        ("getpid", 172),
        ("getppid", 173),
        ("getuid", 174),
        ("geteuid", 175),
        ("getgid", 176),
        ("getegid", 177),
        ("gettid", 178),
        ("sysinfo", 179),
        ("brk", 214),
        ("munmap", 215),
        ("mremap", 216),
        ("clone", 220),
        ("execve", 221),
        ("mmap", 222),
        ("mprotect", 226),
        ("madvise", 233),
        ("wait4", 260),
        ("prlimit64", 261),
        ("renameat2", 276),
        ("getrandom", 278),
        ("statx", 291),
    ];

    #[test]
    fn issue_syscalls_have_linux_numbers() {
        for (name, number) in ISSUE_SYSCALLS {
            let syscall = Syscall::from_number(*number)
                .unwrap_or_else(|| panic!("{name} ({number}) missing"));
            assert_eq!(syscall.name(), *name);
            assert_eq!(syscall.number(), *number);
            assert_eq!(super::name(*number), Some(*name));
        }
    }

    #[test]
    fn named_variants_have_linux_numbers() {
        assert_eq!(Syscall::Read as u64, 63);
        assert_eq!(Syscall::Write as u64, 64);
        assert_eq!(Syscall::Openat as u64, 56);
        assert_eq!(Syscall::ExitGroup as u64, 94);
        assert_eq!(Syscall::RtSigreturn as u64, 139);
        assert_eq!(Syscall::Clone3 as u64, 435);
    }

    #[test]
    fn table_is_ascending_and_names_are_unique() {
        for pair in Syscall::ALL.windows(2) {
            assert!(pair[0].number() < pair[1].number());
        }
        let mut names: alloc::vec::Vec<&str> = Syscall::ALL.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn unassigned_numbers_have_no_name() {
        // 244..=259 are reserved for architecture-specific calls, which arm64 does not use;
        // 295..=423 are left unassigned on 64-bit architectures.
        for number in (244..260).chain(295..424) {
            assert_eq!(name(number), None, "{number}");
        }
        assert_eq!(name(u64::MAX), None);
        assert_eq!(name((1 << 32) | 63), None);
    }
}
