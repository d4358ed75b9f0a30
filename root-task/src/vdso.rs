//! The vDSO, preloaded once: `/vdso.so` is read from the file system at boot, checked
//! with `vdso-check` (the same checks the build runs), and copied into frames that every
//! process then maps read+execute, with the vvar page read-only directly below. Mapping
//! it into a process copies capabilities, never bytes.

use crate::address_space::AddressSpace;
use crate::frames::FrameId;
use crate::objects::{AllocError, Objects};
use alloc::vec::Vec;
use linux_personality::elf_plan::PAGE_SIZE;
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
}

impl Vdso {
    /// Checks and preloads `image`; `rewrite_svc` rewrites its `svc #0` for kernels without
    /// the Linux-syscall flag. `None` (with the reason logged) when the image is unusable.
    pub fn preload(objects: &mut Objects, image: &[u8], rewrite_svc: bool) -> Option<Vdso> {
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
        Some(Vdso {
            text,
            sigreturn_offset,
        })
    }

    /// Bytes the text occupies (whole pages).
    pub fn text_size(&self) -> u64 {
        self.text.len() as u64 * PAGE_SIZE
    }

    /// Maps the vvar page at `base - PAGE_SIZE` and the text at `base` into `space`.
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
        space.map_frame(objects, vvar_address, vvar, Permissions::READ)?;
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
}
