//! The system-call trap for kernels without the Linux-syscall TCB flag (real seL4): each
//! `svc #0` in an executable segment is rewritten at load time to a permanently undefined
//! instruction carrying a marker, so a Linux system call raises a UserException the
//! process server serves, instead of an seL4 system call chosen by whatever `x7` holds.
//!
//! Limits: the scan sees instructions only at 4-byte-aligned offsets of executable
//! segments; a data word in `.text` equal to `svc #0` (0xd4000001) would be rewritten
//! too, and code a program generates at run time (a JIT) is not covered.

/// `svc #0`.
pub const SVC_0: u32 = 0xd400_0001;
/// `udf #0x5ca1`: the marker the server recognises (UDF's 16-bit immediate is ignored by
/// the CPU; this value names the rewrite).
pub const REWRITTEN_SVC: u32 = 0x0000_5ca1;

/// Rewrites every aligned `svc #0` in `code` (little-endian instructions starting at an
/// instruction boundary) and returns how many were rewritten.
pub fn rewrite_svc(code: &mut [u8]) -> usize {
    let mut count = 0;
    for word in code.chunks_exact_mut(4) {
        if u32::from_le_bytes([word[0], word[1], word[2], word[3]]) == SVC_0 {
            word.copy_from_slice(&REWRITTEN_SVC.to_le_bytes());
            count += 1;
        }
    }
    count
}

/// True if `instruction` is the rewritten form of `svc #0`.
#[must_use]
pub const fn is_rewritten_svc(instruction: u32) -> bool {
    instruction == REWRITTEN_SVC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_aligned_svc() {
        let mut code = Vec::new();
        code.extend_from_slice(&0xd280_1168u32.to_le_bytes()); // mov x8, #139
        code.extend_from_slice(&SVC_0.to_le_bytes());
        code.extend_from_slice(&0xd65f_03c0u32.to_le_bytes()); // ret
        code.extend_from_slice(&SVC_0.to_le_bytes());
        code.push(0x01); // a trailing partial word stays
        assert_eq!(rewrite_svc(&mut code), 2);
        assert_eq!(&code[4..8], &REWRITTEN_SVC.to_le_bytes());
        assert_eq!(&code[12..16], &REWRITTEN_SVC.to_le_bytes());
        assert_eq!(&code[0..4], &0xd280_1168u32.to_le_bytes());
        assert!(is_rewritten_svc(REWRITTEN_SVC));
        assert!(!is_rewritten_svc(SVC_0));
    }

    #[test]
    fn misaligned_bytes_are_not_instructions() {
        let mut code = vec![0u8; 2];
        code.extend_from_slice(&SVC_0.to_le_bytes());
        code.extend_from_slice(&[0, 0]);
        assert_eq!(rewrite_svc(&mut code), 0);
    }
}
