//! Linux error numbers (asm-generic values, as aarch64 uses them) and their syscall-return encoding.

/// Declares [`Errno`] together with its number lookup and name table, so the three
/// cannot drift apart.
macro_rules! errno_table {
    ($($name:ident = $value:literal, $description:literal;)*) => {
        /// A Linux error number, with the asm-generic values aarch64 uses.
        ///
        /// A failing system call returns `-errno` in `x0`; see [`Errno::as_negative_return`].
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        // Linux's own names, so logs and man pages match.
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno {
            $(
                #[doc = $description]
                $name = $value,
            )*
        }

        impl Errno {
            /// The error for a number, or `None` if Linux assigns no error to it.
            #[must_use]
            pub const fn from_code(code: i32) -> Option<Errno> {
                match code {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// Linux's symbolic name, such as `"ENOENT"`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// A short description for logs, such as `"No such file or directory"`.
            #[must_use]
            pub const fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $description,)*
                }
            }

            /// Every error number, in ascending order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];
        }
    };
}

errno_table! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "I/O error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file number";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Try again";
    ENOMEM = 12, "Out of memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "File table overflow";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Not a typewriter";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Math argument out of domain of func";
    ERANGE = 34, "Math result not representable";
    EDEADLK = 35, "Resource deadlock would occur";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No record locks available";
    ENOSYS = 38, "Invalid system call number";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many symbolic links encountered";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Not a data message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Illegal byte sequence";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported on transport endpoint";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection because of reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation Canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
}

impl Errno {
    /// Linux's alias: "operation would block" is `EAGAIN`.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Linux's alias for `EDEADLK`.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// Linux's alias for `EOPNOTSUPP` on every asm-generic architecture.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The positive error number.
    #[must_use]
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The value a failing system call leaves in `x0`: `-errno` as a 64-bit two's
    /// complement word (`EPERM` gives `0xffff_ffff_ffff_ffff`).
    #[must_use]
    pub const fn as_negative_return(self) -> u64 {
        (-(self as i64)) as u64
    }

    /// Decodes a raw system-call return word: `Some(errno)` for the error range Linux
    /// reserves (`-4095..=-1`) when the number names an error, `None` for a success value.
    #[must_use]
    pub const fn from_return(value: u64) -> Option<Errno> {
        let signed = value as i64;
        if signed < 0 && signed >= -4095 {
            Errno::from_code((-signed) as i32)
        } else {
            None
        }
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "{} ({})", self.name(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_asm_generic() {
        let expected = [
            (Errno::EPERM, 1),
            (Errno::ENOENT, 2),
            (Errno::EINTR, 4),
            (Errno::E2BIG, 7),
            (Errno::ENOEXEC, 8),
            (Errno::EBADF, 9),
            (Errno::EAGAIN, 11),
            (Errno::ENOMEM, 12),
            (Errno::EFAULT, 14),
            (Errno::EEXIST, 17),
            (Errno::EINVAL, 22),
            (Errno::ENOTTY, 25),
            (Errno::ESPIPE, 29),
            (Errno::EPIPE, 32),
            (Errno::ERANGE, 34),
            (Errno::ENAMETOOLONG, 36),
            (Errno::ENOSYS, 38),
            (Errno::ENOTEMPTY, 39),
            (Errno::ELOOP, 40),
            (Errno::EOVERFLOW, 75),
            (Errno::EOPNOTSUPP, 95),
            (Errno::ETIMEDOUT, 110),
            (Errno::EOWNERDEAD, 130),
            (Errno::EHWPOISON, 133),
        ];
        for (errno, value) in expected {
            assert_eq!(errno.code(), value, "{}", errno.name());
        }
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::EDEADLOCK.code(), 35);
    }

    #[test]
    fn negative_return_is_twos_complement() {
        assert_eq!(Errno::EPERM.as_negative_return(), u64::MAX);
        assert_eq!(Errno::ENOSYS.as_negative_return(), 0xffff_ffff_ffff_ffda);
        assert_eq!(Errno::ENOENT.as_negative_return() as i64, -2);
    }

    #[test]
    fn every_errno_round_trips() {
        // 1..=133 minus the two numbers Linux leaves unassigned (41 and 58).
        assert_eq!(Errno::ALL.len(), 131);
        for (index, errno) in Errno::ALL.iter().enumerate() {
            assert_eq!(Errno::from_code(errno.code()), Some(*errno));
            assert_eq!(Errno::from_return(errno.as_negative_return()), Some(*errno));
            assert!(errno.name().starts_with('E'));
            if index > 0 {
                assert!(Errno::ALL[index - 1] < *errno, "table is not ascending");
            }
        }
        assert_eq!(Errno::from_code(0), None);
        assert_eq!(Errno::from_code(41), None);
        assert_eq!(Errno::from_code(58), None);
        assert_eq!(Errno::from_code(134), None);
        assert_eq!(Errno::from_code(-1), None);
    }

    #[test]
    fn from_return_rejects_success_values() {
        assert_eq!(Errno::from_return(0), None);
        assert_eq!(Errno::from_return(4096), None);
        assert_eq!(Errno::from_return((-4096_i64) as u64), None);
        assert_eq!(Errno::from_return(0x0000_7fff_0000_0000), None);
    }

    #[test]
    fn display_names_the_error() {
        assert_eq!(
            alloc::format!("{}", Errno::ENOENT),
            "ENOENT (No such file or directory)"
        );
    }
}
