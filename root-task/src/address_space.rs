//! A process's address space: its VSpace, its areas (linux-personality's `VmaSet`), the
//! frame behind each present page and the page tables the kernel needed for them.
//!
//! Every present page is a copy of a frame's cap mapped with the area's permissions
//! (read-only, read/write, read+execute; never writable and executable). Pages appear on
//! demand: [`AddressSpace::resolve`] checks an access against the areas and fills an
//! anonymous page with zeros or a file page with the file's bytes. After `fork` a private
//! page's frame is shared by both spaces, mapped read-only, until a write copies it.

use crate::frames::FrameId;
use crate::objects::{AllocError, Objects};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_personality::elf_plan::{PAGE_SIZE, USER_ADDRESS_LIMIT};
use linux_personality::{FileId, Permissions, Sharing, Vma, VmaKind, VmaSet};
use sel4::cap_type::{Granule, VSpace};
use sel4::{CPtr, Cap, CapRights, VmAttributes};

/// Lowest address a process may map (page zero stays unmapped).
pub const LOWEST_ADDRESS: u64 = PAGE_SIZE;
/// One past the highest user address.
pub const ADDRESS_LIMIT: u64 = USER_ADDRESS_LIMIT + 1;

/// What an access wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// Why an access cannot be satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryFault {
    /// No area, or the area forbids the access: SIGSEGV (`SEGV_MAPERR` / `SEGV_ACCERR`).
    Segmentation { mapped: bool },
    /// A file page beyond the end of the file: SIGBUS.
    Bus,
    /// No memory left for the page.
    OutOfMemory,
}

/// One present page.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub frame: FrameId,
    /// The copy of the frame cap that maps it here.
    mapping: CPtr,
    pub permissions: Permissions,
}

/// Reads a file's bytes for file-backed pages.
pub trait FileContents {
    /// The file's bytes, or `None` if it no longer exists.
    fn contents(&self, file: FileId) -> Option<&[u8]>;
}

/// A process's address space.
#[derive(Debug)]
pub struct AddressSpace {
    vspace: CPtr,
    pub areas: VmaSet,
    pages: BTreeMap<u64, Page>,
    tables: Vec<CPtr>,
}

impl AddressSpace {
    /// An empty address space with a fresh (or recycled) VSpace.
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn new(objects: &mut Objects) -> Result<AddressSpace, AllocError> {
        let vspace = objects.allocate_vspace()?;
        let areas = match VmaSet::new(LOWEST_ADDRESS, ADDRESS_LIMIT) {
            Ok(areas) => areas,
            Err(_) => {
                objects.free_vspace(vspace);
                return Err(AllocError::OutOfMemory);
            }
        };
        Ok(AddressSpace {
            vspace,
            areas,
            pages: BTreeMap::new(),
            tables: Vec::new(),
        })
    }

    /// The VSpace cap.
    pub fn vspace(&self) -> CPtr {
        self.vspace
    }

    /// Number of present pages.
    pub fn resident_pages(&self) -> usize {
        self.pages.len()
    }

    /// Maps `frame` (whose reference the caller passes on) at page `vaddr` with
    /// `permissions`. On failure the reference is dropped (the frame freed if last).
    ///
    /// # Errors
    /// [`AllocError`].
    pub fn map_frame(
        &mut self,
        objects: &mut Objects,
        vaddr: u64,
        frame: FrameId,
        permissions: Permissions,
    ) -> Result<(), AllocError> {
        let vaddr = vaddr & !(PAGE_SIZE - 1);
        self.unmap_page(objects, vaddr);
        let result = self.install(objects, vaddr, frame, permissions);
        if result.is_err() && objects.frames.release(frame) {
            objects.free_frame(frame);
        }
        result
    }

    fn install(
        &mut self,
        objects: &mut Objects,
        vaddr: u64,
        frame: FrameId,
        permissions: Permissions,
    ) -> Result<(), AllocError> {
        let mapping = objects.copy_cap(objects.frames.cap(frame), CapRights::all())?;
        if permissions != Permissions::NONE {
            let (rights, attributes) = hardware_permissions(permissions);
            if let Err(error) = objects.map(
                Cap::<Granule>::from_bits(mapping),
                Cap::<VSpace>::from_bits(self.vspace),
                vaddr,
                rights,
                attributes,
                &mut self.tables,
            ) {
                objects.delete_cap(mapping);
                return Err(error);
            }
            if permissions.execute {
                // The bytes were written through the root task's data mapping: make them
                // visible to instruction fetch.
                let cap: Cap<Granule> = Cap::from_bits(mapping);
                if let Err(error) = cap.frame_unify_instruction(0, PAGE_SIZE) {
                    log::warn!("unify instruction cache at {vaddr:#x}: {error:?}");
                }
            }
        }
        self.pages.insert(
            vaddr,
            Page {
                frame,
                mapping,
                permissions,
            },
        );
        Ok(())
    }

    /// Removes the page at `vaddr`, if present, dropping its frame reference.
    pub fn unmap_page(&mut self, objects: &mut Objects, vaddr: u64) {
        if let Some(page) = self.pages.remove(&(vaddr & !(PAGE_SIZE - 1))) {
            objects.delete_cap(page.mapping);
            if objects.frames.release(page.frame) {
                objects.free_frame(page.frame);
            }
        }
    }

    /// Removes every page in `[start, end)`.
    pub fn unmap_range(&mut self, objects: &mut Objects, start: u64, end: u64) {
        let present: Vec<u64> = self
            .pages
            .range(start..end)
            .map(|(address, _)| *address)
            .collect();
        for address in present {
            self.unmap_page(objects, address);
        }
    }

    /// Gives present pages in `[start, end)` new permissions.
    pub fn protect_range(
        &mut self,
        objects: &mut Objects,
        start: u64,
        end: u64,
        permissions: Permissions,
    ) -> Result<(), AllocError> {
        let present: Vec<(u64, Page)> = self
            .pages
            .range(start..end)
            .map(|(address, page)| (*address, *page))
            .collect();
        for (address, page) in present {
            // A frame still shared copy-on-write stays read-only until written.
            let permissions = if permissions.write
                && self.is_private(address)
                && objects.frames.references(page.frame) > 1
            {
                Permissions {
                    write: false,
                    ..permissions
                }
            } else {
                permissions
            };
            if page.permissions == permissions {
                continue;
            }
            self.protect_page(objects, address, page, permissions)?;
        }
        Ok(())
    }

    /// Makes the page holding `address` present for `access` if an area allows it, and
    /// returns its frame.
    ///
    /// # Errors
    /// [`MemoryFault`] saying which signal the access earns.
    pub fn resolve(
        &mut self,
        objects: &mut Objects,
        files: &dyn FileContents,
        address: u64,
        access: Access,
    ) -> Result<FrameId, MemoryFault> {
        let area = *self
            .areas
            .lookup(address)
            .ok_or(MemoryFault::Segmentation { mapped: false })?;
        if !allows(area.permissions, access) {
            return Err(MemoryFault::Segmentation { mapped: true });
        }
        let page_address = address & !(PAGE_SIZE - 1);
        if let Some(page) = self.pages.get(&page_address).copied() {
            if access == Access::Write && !page.permissions.write && self.is_private(address) {
                return self
                    .break_copy_on_write(objects, page_address, page, area.permissions)
                    .map_err(|_| MemoryFault::OutOfMemory);
            }
            return Ok(page.frame);
        }
        let frame = objects
            .allocate_frame()
            .map_err(|_| MemoryFault::OutOfMemory)?;
        if let VmaKind::File { file, offset } = area.kind {
            let file_offset = offset.saturating_add(page_address - area.start);
            let Some(bytes) = files.contents(file) else {
                release(objects, frame);
                return Err(MemoryFault::Bus);
            };
            let Some(available) = usize::try_from(file_offset)
                .ok()
                .and_then(|start| bytes.get(start..))
                .filter(|rest| !rest.is_empty())
            else {
                release(objects, frame);
                return Err(MemoryFault::Bus);
            };
            let length = available.len().min(PAGE_SIZE as usize);
            objects.frames.write(frame, 0, &available[..length]);
        }
        self.map_frame(objects, page_address, frame, area.permissions)
            .map_err(|_| MemoryFault::OutOfMemory)?;
        Ok(frame)
    }

    /// Adds an area (no pages yet).
    ///
    /// # Errors
    /// The VMA error, as `errno` gives it.
    pub fn add_area(
        &mut self,
        objects: &mut Objects,
        vma: Vma,
        placement: linux_personality::Placement,
    ) -> Result<(), linux_personality::VmaError> {
        let replaced = self.areas.insert(vma, placement)?;
        for old in replaced {
            self.unmap_range(objects, old.start, old.end);
        }
        Ok(())
    }

    /// Removes areas and pages in `[start, start + length)`.
    ///
    /// # Errors
    /// The VMA error.
    pub fn remove_areas(
        &mut self,
        objects: &mut Objects,
        start: u64,
        length: u64,
    ) -> Result<(), linux_personality::VmaError> {
        let removed = self.areas.remove(start, length)?;
        for old in removed {
            self.unmap_range(objects, old.start, old.end);
        }
        Ok(())
    }

    /// A copy for `fork`, copy-on-write: shared pages are shared; private pages are
    /// shared too but mapped read-only in both spaces, and the first write in either
    /// copies the frame ([`AddressSpace::resolve`]).
    ///
    /// # Errors
    /// [`AllocError`]; the partial copy is destroyed (pages this space already made
    /// read-only stay so and are made writable again by their next write fault).
    pub fn duplicate(&mut self, objects: &mut Objects) -> Result<AddressSpace, AllocError> {
        let mut copy = AddressSpace::new(objects)?;
        copy.areas = self.areas.clone();
        let present: Vec<(u64, Page)> = self
            .pages
            .iter()
            .map(|(address, page)| (*address, *page))
            .collect();
        for (address, page) in present {
            let permissions = if self.is_private(address) && page.permissions.write {
                let read_only = Permissions {
                    write: false,
                    ..page.permissions
                };
                if let Err(error) = self.protect_page(objects, address, page, read_only) {
                    copy.destroy(objects);
                    return Err(error);
                }
                read_only
            } else {
                page.permissions
            };
            objects.frames.retain(page.frame);
            if let Err(error) = copy.map_frame(objects, address, page.frame, permissions) {
                copy.destroy(objects);
                return Err(error);
            }
        }
        Ok(copy)
    }

    /// Whether `address` lies in a private area (copied, not shared, at fork).
    fn is_private(&self, address: u64) -> bool {
        self.areas.lookup(address).is_some_and(|area| {
            area.sharing != Sharing::Shared && !matches!(area.kind, VmaKind::Vdso | VmaKind::Vvar)
        })
    }

    /// Maps the present `page` at `address` again with `permissions`.
    fn protect_page(
        &mut self,
        objects: &mut Objects,
        address: u64,
        page: Page,
        permissions: Permissions,
    ) -> Result<(), AllocError> {
        objects.frames.retain(page.frame);
        self.unmap_page(objects, address);
        self.map_frame(objects, address, page.frame, permissions)
    }

    /// A write to a present private page that is mapped read-only because its frame is
    /// shared copy-on-write: the last sharer takes the frame back writable, any other
    /// gets a copy.
    fn break_copy_on_write(
        &mut self,
        objects: &mut Objects,
        address: u64,
        page: Page,
        permissions: Permissions,
    ) -> Result<FrameId, AllocError> {
        if objects.frames.references(page.frame) <= 1 {
            self.protect_page(objects, address, page, permissions)?;
            return Ok(page.frame);
        }
        let frame = objects.allocate_frame()?;
        objects.frames.copy_frame(page.frame, frame);
        self.map_frame(objects, address, frame, permissions)?;
        Ok(frame)
    }

    /// Unmaps everything and returns the VSpace, page tables and frames for reuse.
    pub fn destroy(mut self, objects: &mut Objects) {
        self.clear(objects);
        objects.free_vspace(self.vspace);
    }

    /// Unmaps every page and area but keeps the VSpace (for `execve`).
    pub fn clear(&mut self, objects: &mut Objects) {
        let present: Vec<u64> = self.pages.keys().copied().collect();
        for address in present {
            self.unmap_page(objects, address);
        }
        objects.free_page_tables(core::mem::take(&mut self.tables));
        if let Ok(empty) = VmaSet::new(LOWEST_ADDRESS, ADDRESS_LIMIT) {
            self.areas = empty;
        }
    }
}

fn release(objects: &mut Objects, frame: FrameId) {
    if objects.frames.release(frame) {
        objects.free_frame(frame);
    }
}

/// Whether `permissions` allow `access`.
pub fn allows(permissions: Permissions, access: Access) -> bool {
    match access {
        Access::Read => permissions.read || permissions.write || permissions.execute,
        Access::Write => permissions.write,
        Access::Execute => permissions.execute,
    }
}

/// seL4 rights and attributes for area permissions. aarch64 cannot map write-only or
/// execute-only, so those imply read, as on Linux.
fn hardware_permissions(permissions: Permissions) -> (CapRights, VmAttributes) {
    let rights = if permissions.write {
        CapRights::read_write()
    } else {
        CapRights::read_only()
    };
    let mut attributes = VmAttributes::PAGE_CACHEABLE;
    if !permissions.execute || permissions.write {
        attributes |= VmAttributes::EXECUTE_NEVER;
    }
    (rights, VmAttributes(attributes))
}
