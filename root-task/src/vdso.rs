//! The vDSO, preloaded once: `/vdso.so` is read from the file system at boot, checked
//! with `vdso-check` (the same checks the build runs), and copied into frames that every
//! process then maps read+execute, with the vvar page read-only directly below. Mapping
//! it into a process copies capabilities, never bytes.
//!
//! With `option vdso-reload-per-exec` every exec instead reads `/vdso.so` from the file
//! system, checks it and copies it into fresh frames: what a server without the preload
//! would do, kept to measure what the preload saves. Either way the mapping step is timed
//! with the virtual counter, and with `option bench-report` (which `cargo xtask bench`
//! passes) init's exit reports the mean as
//! `BENCH vdso_map_at_exec_<preloaded|reloaded> <instructions> <execs>` (instructions
//! under `-icount shift=0`, where one counter nanosecond is one instruction).

use crate::address_space::AddressSpace;
use crate::frames::FrameId;
use crate::objects::{AllocError, Objects};
use alloc::vec::Vec;
use core::cell::Cell;
use linux_personality::boot_config::{BenchReport, VdsoLoading};
use linux_personality::elf_plan::PAGE_SIZE;
use linux_personality::fs::Fs;
use linux_personality::{Permissions, Placement, Sharing, Vma, VmaKind};
use vdso_check::Export;

/// Where in the file system the vDSO image is looked for.
pub const VDSO_PATH: &[u8] = b"/vdso.so";

/// The preloaded image.
#[derive(Debug)]
pub struct Vdso {
    text: Vec<FrameId>,
    /// Offset of `__kernel_rt_sigreturn` from the image base.
    pub sigreturn_offset: u64,
    loading: VdsoLoading,
    bench_report: BenchReport,
    rewrite_svc: bool,
    /// Counter ticks spent in the mapping step, and how many steps.
    map_ticks: Cell<u64>,
    maps: Cell<u64>,
    /// The server's FP/SIMD trampolines in the text page's tail, if they fit.
    pub trampolines: Option<Trampolines>,
}

/// What an exec needs to map the vDSO: the image, the vvar frame, and the file system
/// (read at every exec under [`VdsoLoading::ReloadPerExec`]).
pub struct ExecVdso<'a> {
    pub vdso: &'a Vdso,
    pub vvar: FrameId,
    pub fs: &'a Fs,
}

impl ExecVdso<'_> {
    /// Maps the vvar page at `base - PAGE_SIZE` and the text at `base` into `space`, the
    /// way the boot options say, and accounts the time it took.
    ///
    /// # Errors
    /// [`AllocError`], or `OutOfMemory` if the range is taken.
    pub fn map_into(
        &self,
        objects: &mut Objects,
        space: &mut AddressSpace,
        base: u64,
    ) -> Result<(), AllocError> {
        let started = crate::arch::counter();
        let result = match self.vdso.loading {
            VdsoLoading::Preloaded => self.vdso.map_into(objects, space, base, self.vvar),
            VdsoLoading::ReloadPerExec => self.vdso.map_reloaded(objects, space, base, self),
        };
        let ticks = crate::arch::counter().saturating_sub(started);
        let vdso = self.vdso;
        vdso.map_ticks
            .set(vdso.map_ticks.get().saturating_add(ticks));
        vdso.maps.set(vdso.maps.get().saturating_add(1));
        result
    }
}

/// Two code sequences the server places after the vDSO image (in the same read+execute
/// pages, outside anything the ELF describes) so a thread saves and restores its own
/// FP/SIMD registers, which the kernel's TCB interface cannot reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trampolines {
    /// Handler entry: with `x4` = the frame's `fpsimd_context.fpsr` and `x3` = the
    /// handler, stores FPSR, FPCR and q0..q31 there and branches to the handler.
    pub save_offset: u64,
    /// `rt_sigreturn` first stage: with `x0` = the frame's `fpsimd_context.fpsr`, loads
    /// FPSR, FPCR and q0..q31 from there, then calls `rt_sigreturn` again from
    /// [`Self::restore_svc_offset`].
    pub restore_offset: u64,
    /// The `svc` ending the restore sequence.
    pub restore_svc_offset: u64,
}

/// Bytes reserved for the trampolines at the end of the last text page.
const TRAMPOLINE_BYTES: u64 = 256;

/// The save sequence (see [`Trampolines::save_offset`]).
fn save_sequence() -> Vec<u32> {
    let mut code = alloc::vec![
        0xd53b_4425, // mrs x5, fpsr
        0xb900_0085, // str w5, [x4]
        0xd53b_4405, // mrs x5, fpcr
        0xb900_0485, // str w5, [x4, #4]
        0x9100_2084, // add x4, x4, #8
    ];
    // stp q(2i), q(2i+1), [x4, #32i]
    for pair in 0..16u32 {
        code.push(
            0xad00_0000 | ((pair * 2) << 15) | ((pair * 2 + 1) << 10) | (4 << 5) | (pair * 2),
        );
    }
    code.push(0xd61f_0060); // br x3
    code
}

/// The restore sequence (see [`Trampolines::restore_offset`]); the `svc` is last.
fn restore_sequence() -> Vec<u32> {
    let mut code = alloc::vec![
        0xb940_0005, // ldr w5, [x0]
        0xd51b_4425, // msr fpsr, x5
        0xb940_0405, // ldr w5, [x0, #4]
        0xd51b_4405, // msr fpcr, x5
        0x9100_2000, // add x0, x0, #8
    ];
    // ldp q(2i), q(2i+1), [x0, #32i]
    for pair in 0..16u32 {
        code.push(0xad40_0000 | ((pair * 2) << 15) | ((pair * 2 + 1) << 10) | (pair * 2));
    }
    code.push(0xd280_1168); // mov x8, #139 (rt_sigreturn)
    code.push(linux_personality::svc_rewrite::SVC_0);
    code
}

/// Appends the trampolines to `bytes` (the image) within its last page; `None` if the
/// image leaves no room.
fn add_trampolines(bytes: &mut Vec<u8>, rewrite_svc: bool) -> Option<Trampolines> {
    let pages = (bytes.len() as u64).div_ceil(PAGE_SIZE).max(1);
    let start = pages * PAGE_SIZE - TRAMPOLINE_BYTES;
    if (bytes.len() as u64) > start {
        return None;
    }
    let save = save_sequence();
    let restore = restore_sequence();
    let mut code = Vec::new();
    for word in save.iter().chain(restore.iter()) {
        code.extend_from_slice(&word.to_le_bytes());
    }
    if code.len() as u64 > TRAMPOLINE_BYTES {
        return None;
    }
    if rewrite_svc {
        linux_personality::svc_rewrite::rewrite_svc(&mut code);
    }
    bytes.resize(start as usize, 0);
    bytes.extend_from_slice(&code);
    let restore_offset = start + save.len() as u64 * 4;
    Some(Trampolines {
        save_offset: start,
        restore_offset,
        restore_svc_offset: restore_offset + (restore.len() as u64 - 1) * 4,
    })
}

impl Vdso {
    /// Checks and preloads `image`; `rewrite_svc` rewrites its `svc #0` for kernels without
    /// the Linux-syscall flag. `None` (with the reason logged) when the image is unusable.
    pub fn preload(
        objects: &mut Objects,
        image: &[u8],
        rewrite_svc: bool,
        loading: VdsoLoading,
        bench_report: BenchReport,
    ) -> Option<Vdso> {
        let info = match vdso_check::check(image) {
            Ok(info) => info,
            Err(violations) => {
                log::error!(
                    "{}: {} violation(s); running without a vDSO",
                    "/vdso.so",
                    violations.len()
                );
                for violation in &violations {
                    log::error!("  {violation}");
                }
                return None;
            }
        };
        let mut bytes = image.to_vec();
        if rewrite_svc {
            let rewritten = linux_personality::svc_rewrite::rewrite_svc(&mut bytes);
            log::info!("vDSO: rewrote {rewritten} svc instruction(s)");
        }
        let trampolines = add_trampolines(&mut bytes, rewrite_svc);
        let mut text = Vec::new();
        for chunk in bytes.chunks(PAGE_SIZE as usize) {
            match objects.allocate_frame() {
                Ok(frame) => {
                    objects.frames.write(frame, 0, chunk);
                    text.push(frame);
                }
                Err(error) => {
                    log::error!("vDSO preload: {error:?}; running without a vDSO");
                    for frame in text {
                        objects.free_frame(frame);
                    }
                    return None;
                }
            }
        }
        let sigreturn_offset = info.offset(Export::RtSigreturn);
        log::info!(
            "vDSO: {} bytes in {} page(s), checked and preloaded; __kernel_rt_sigreturn at +{sigreturn_offset:#x}",
            image.len(),
            text.len()
        );
        if loading == VdsoLoading::ReloadPerExec {
            log::info!("vDSO: reloaded from {} at every exec", "/vdso.so");
        }
        Some(Vdso {
            text,
            sigreturn_offset,
            loading,
            bench_report,
            rewrite_svc,
            map_ticks: Cell::new(0),
            maps: Cell::new(0),
            trampolines,
        })
    }

    /// Prints the mean cost of the mapping step as a `BENCH` line under `option
    /// bench-report` (nothing before the first exec).
    pub fn report(&self) {
        let maps = self.maps.get();
        let frequency = crate::arch::counter_frequency();
        if self.bench_report == BenchReport::Silent || maps == 0 || frequency == 0 {
            return;
        }
        // Tenths of a nanosecond per map: ticks * 1e10 / (frequency * maps).
        let tenths = u128::from(self.map_ticks.get()) * 10_000_000_000
            / (u128::from(frequency) * u128::from(maps));
        let name = match self.loading {
            VdsoLoading::Preloaded => "preloaded",
            VdsoLoading::ReloadPerExec => "reloaded",
        };
        log::info!(
            "vDSO: BENCH vdso_map_at_exec_{name} {}.{} {maps}",
            tenths / 10,
            tenths % 10
        );
    }

    /// Bytes the text occupies (whole pages).
    pub fn text_size(&self) -> u64 {
        self.text.len() as u64 * PAGE_SIZE
    }

    /// Maps the vvar page at `base - PAGE_SIZE` and the preloaded text at `base` into
    /// `space`.
    ///
    /// # Errors
    /// [`AllocError`], or `OutOfMemory` if the range is taken.
    pub fn map_into(
        &self,
        objects: &mut Objects,
        space: &mut AddressSpace,
        base: u64,
        vvar: FrameId,
    ) -> Result<(), AllocError> {
        self.map_areas_and_vvar(objects, space, base, vvar)?;
        for (index, frame) in self.text.iter().enumerate() {
            objects.frames.retain(*frame);
            space.map_frame(
                objects,
                base + index as u64 * PAGE_SIZE,
                *frame,
                Permissions::READ_EXECUTE,
            )?;
        }
        Ok(())
    }

    /// [`Vdso::map_into`] with the text read from `/vdso.so` now, checked, and copied
    /// into fresh frames. An image that no longer matches the one checked at boot (its
    /// size or `__kernel_rt_sigreturn`, which signal delivery relies on) is not used: the
    /// preloaded frames are mapped instead, with a warning.
    fn map_reloaded(
        &self,
        objects: &mut Objects,
        space: &mut AddressSpace,
        base: u64,
        exec: &ExecVdso<'_>,
    ) -> Result<(), AllocError> {
        let image = crate::rootfs::file_bytes(exec.fs, VDSO_PATH);
        let usable = image.filter(|image| {
            (image.len() as u64).next_multiple_of(PAGE_SIZE) == self.text_size()
                && vdso_check::check(image)
                    .is_ok_and(|info| info.offset(Export::RtSigreturn) == self.sigreturn_offset)
        });
        let Some(image) = usable else {
            log::warn!(
                "/vdso.so changed or failed its checks since boot; mapping the preloaded copy"
            );
            return self.map_into(objects, space, base, exec.vvar);
        };
        let mut bytes = image.to_vec();
        if self.rewrite_svc {
            linux_personality::svc_rewrite::rewrite_svc(&mut bytes);
        }
        self.map_areas_and_vvar(objects, space, base, exec.vvar)?;
        for (index, chunk) in bytes.chunks(PAGE_SIZE as usize).enumerate() {
            // One reference, which the mapping takes over.
            let frame = objects.allocate_frame()?;
            objects.frames.write(frame, 0, chunk);
            space.map_frame(
                objects,
                base + index as u64 * PAGE_SIZE,
                frame,
                Permissions::READ_EXECUTE,
            )?;
        }
        Ok(())
    }

    /// Adds the `[vvar]` and `[vdso]` areas and maps the vvar page.
    fn map_areas_and_vvar(
        &self,
        objects: &mut Objects,
        space: &mut AddressSpace,
        base: u64,
        vvar: FrameId,
    ) -> Result<(), AllocError> {
        let vvar_address = base - PAGE_SIZE;
        let areas = [
            (vvar_address, base, Permissions::READ, VmaKind::Vvar),
            (
                base,
                base + self.text_size(),
                Permissions::READ_EXECUTE,
                VmaKind::Vdso,
            ),
        ];
        for (start, end, permissions, kind) in areas {
            let vma = Vma {
                start,
                end,
                permissions,
                kind,
                sharing: Sharing::Shared,
            };
            space
                .add_area(objects, vma, Placement::Exclusive)
                .map_err(|_| AllocError::OutOfMemory)?;
        }
        objects.frames.retain(vvar);
        space.map_frame(objects, vvar_address, vvar, Permissions::READ)
    }
}
