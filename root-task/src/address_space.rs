//! A process's address space: its VSpace, its areas (linux-personality's `VmaSet`), the
//! frame behind each present page and the page tables the kernel needed for them.
//!
//! Every present page is a copy of a frame's cap mapped with the area's permissions
//! (read-only, read/write, read+execute; never writable and executable). Pages appear on
//! demand: [`AddressSpace::resolve`] checks an access against the areas and fills an
//! anonymous page with zeros or a file page with the file's bytes. After `fork` a private
//! page's frame is shared by both spaces, mapped read-only, until a write copies it. A
//! private file page first read is mapped read-only too until written, so a file
//! truncated below it can tell whether it is still the file's
//! ([`AddressSpace::drop_file_pages`]). `MAP_SHARED | MAP_ANONYMOUS` pages belong to a shared memory object
//! ([`Objects::shared`]) whose frames every space mapping it maps, whenever each touches
//! them; the object lives while any area names it.

use crate::frames::FrameId;
use crate::objects::{AllocError, Objects};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_personality::elf_plan::{PAGE_SIZE, USER_ADDRESS_LIMIT};
use linux_personality::remap::RemapPlan;
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
    contents: PageContents,
}

/// Where a present page's bytes came from, as truncating a file needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PageContents {
    /// A private file page as read from the file and not written since: mapped without
    /// write access, so the first write faults and makes it [`PageContents::Own`]. A file
    /// truncated below it drops it, as Linux drops page-cache pages.
    FileCopy,
    /// Anything else (anonymous, written, shared, loaded by exec).
    Own,
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
        self.map_frame_as(objects, vaddr, frame, permissions, PageContents::Own)
    }

    /// [`AddressSpace::map_frame`] with the page's origin.
    fn map_frame_as(
        &mut self,
        objects: &mut Objects,
        vaddr: u64,
        frame: FrameId,
        permissions: Permissions,
        contents: PageContents,
    ) -> Result<(), AllocError> {
        let vaddr = vaddr & !(PAGE_SIZE - 1);
        self.unmap_page(objects, vaddr);
        let result = self.install(objects, vaddr, frame, permissions, contents);
        if result.is_err() && objects.frames.release(frame) {
            objects.free_frame(frame);
        }
        result
    }

    /// [`AddressSpace::map_frame`] for a page known to be absent (a fault just found no
    /// page there), without looking for one to unmap first.
    fn map_absent(
        &mut self,
        objects: &mut Objects,
        vaddr: u64,
        frame: FrameId,
        permissions: Permissions,
        contents: PageContents,
    ) -> Result<(), AllocError> {
        // A fault past the heap reserve fails (the process is killed) before the map
        // entry could exhaust the server's heap: mappings of shared or copy-on-write
        // frames take no new frame, so the frame reserve alone does not stop them.
        let result = if (sel4_root_task::heap::free_bytes() as u64) < crate::objects::HEAP_RESERVE {
            Err(AllocError::OutOfMemory)
        } else {
            self.install(objects, vaddr, frame, permissions, contents)
        };
        if result.is_err() {
            release(objects, frame);
        }
        result
    }

    fn install(
        &mut self,
        objects: &mut Objects,
        vaddr: u64,
        frame: FrameId,
        permissions: Permissions,
        contents: PageContents,
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
                contents,
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
        // One page at a time, not through a list of them: this runs when memory is
        // shortest (killing a process that ran out of it).
        while let Some(address) = self
            .pages
            .range(start..end)
            .next()
            .map(|(address, _)| *address)
        {
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
        let mut next = start;
        while let Some((address, page)) = self
            .pages
            .range(next..end)
            .next()
            .map(|(address, page)| (*address, *page))
        {
            next = address.saturating_add(PAGE_SIZE);
            // A frame still shared copy-on-write, or a private file page not yet written,
            // stays read-only until written.
            let permissions = if permissions.write
                && self.is_private(address)
                && (objects.frames.references(page.frame) > 1
                    || page.contents == PageContents::FileCopy)
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
            self.protect_page(objects, address, page, permissions, page.contents)?;
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
        if area.sharing == Sharing::Shared {
            if let Some(object) = objects.shared.object_of(&area) {
                return self.resolve_shared(objects, files, &area, object, page_address);
            }
        }
        let frame = objects
            .allocate_frame()
            .map_err(|_| MemoryFault::OutOfMemory)?;
        let mut permissions = area.permissions;
        let mut contents = PageContents::Own;
        if let VmaKind::File { file, offset, .. } = area.kind {
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
            if access != Access::Write {
                // Kept read-only until written: see PageContents::FileCopy.
                contents = PageContents::FileCopy;
                permissions.write = false;
            }
        }
        self.map_absent(objects, page_address, frame, permissions, contents)
            .map_err(|_| MemoryFault::OutOfMemory)?;
        Ok(frame)
    }

    /// The page of a shared memory object at `page_address`: the object's frame, made
    /// on first touch by whichever address space touches it first (from the file's
    /// bytes for a file's object), mapped here too.
    fn resolve_shared(
        &mut self,
        objects: &mut Objects,
        files: &dyn FileContents,
        area: &Vma,
        object: u64,
        page_address: u64,
    ) -> Result<FrameId, MemoryFault> {
        let offset = area
            .backing_offset(page_address)
            .ok_or(MemoryFault::Segmentation { mapped: false })?;
        let frame = match objects.shared.page(object, offset) {
            Some(frame) => frame,
            None => {
                // The object keeps this first reference for as long as it lives.
                let frame = objects
                    .allocate_frame()
                    .map_err(|_| MemoryFault::OutOfMemory)?;
                if let VmaKind::File { file, .. } = area.kind {
                    let shown = files.contents(file).and_then(|bytes| {
                        usize::try_from(offset)
                            .ok()
                            .and_then(|start| bytes.get(start..))
                            .filter(|rest| !rest.is_empty())
                    });
                    let Some(shown) = shown else {
                        release(objects, frame);
                        return Err(MemoryFault::Bus);
                    };
                    let length = shown.len().min(PAGE_SIZE as usize);
                    objects.frames.write(frame, 0, &shown[..length]);
                }
                if !objects.shared.insert_page(object, offset, frame) {
                    release(objects, frame);
                    return Err(MemoryFault::Segmentation { mapped: false });
                }
                frame
            }
        };
        objects.frames.retain(frame);
        self.map_absent(
            objects,
            page_address,
            frame,
            area.permissions,
            PageContents::Own,
        )
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
        if !objects.shared.is_empty() {
            objects.shared.attach(&vma);
        }
        if !replaced.is_empty() {
            self.forget_areas(objects, replaced);
        }
        Ok(())
    }

    /// Drops the pages of areas just removed from the set, and their hold on shared
    /// memory objects (freeing an object's frames when it was the last mapping).
    fn forget_areas(&mut self, objects: &mut Objects, removed: Vec<Vma>) {
        for old in removed {
            self.unmap_range(objects, old.start, old.end);
            if objects.shared.is_empty() {
                continue;
            }
            for frame in objects.shared.detach(&old) {
                release(objects, frame);
            }
        }
    }

    /// Carries out an `mremap` plan already checked against these areas; returns the
    /// mapping's new address. Pages move by remapping their frame caps: no byte is
    /// copied, copy-on-write sharing and shared objects stay as they were.
    ///
    /// # Errors
    /// The VMA error if the plan does not fit the areas, which a plan `plan_remap` made
    /// from these same areas always does.
    pub fn remap(
        &mut self,
        objects: &mut Objects,
        plan: &RemapPlan,
    ) -> Result<u64, linux_personality::VmaError> {
        match *plan {
            RemapPlan::InPlace {
                start,
                unmap_from,
                unmap_to,
                grow_to,
            } => {
                if unmap_from < unmap_to {
                    self.remove_areas(objects, unmap_from, unmap_to - unmap_from)?;
                }
                if let Some(new_end) = grow_to {
                    let area = *self
                        .areas
                        .lookup(start)
                        .ok_or(linux_personality::VmaError::NotMapped { address: start })?;
                    self.areas.extend(start, new_end)?;
                    objects.shared.attach(&Vma {
                        start: area.end,
                        end: new_end,
                        ..area
                    });
                }
                Ok(start)
            }
            RemapPlan::Duplicate { mapping, placement } => {
                self.add_area(objects, mapping, placement)?;
                Ok(mapping.start)
            }
            RemapPlan::Move {
                source,
                source_end,
                unmap_from,
                unmap_to,
                destination,
                new_length,
                old_range,
            } => {
                if unmap_from < unmap_to {
                    self.remove_areas(objects, unmap_from, unmap_to - unmap_from)?;
                }
                let removed = self.areas.move_range(
                    source,
                    source_end,
                    destination,
                    new_length,
                    old_range,
                )?;
                if let Some(moved) = self.areas.lookup(destination).copied() {
                    objects.shared.attach(&moved);
                }
                let (old, replaced): (Vec<Vma>, Vec<Vma>) = removed
                    .into_iter()
                    .partition(|area| area.start >= source && area.end <= source_end);
                self.forget_areas(objects, replaced);
                let present: Vec<(u64, Page)> = self
                    .pages
                    .range(source..source_end)
                    .map(|(address, page)| (*address, *page))
                    .collect();
                for (address, page) in present {
                    self.move_page(objects, address, destination + (address - source), page);
                }
                // The old range's pages are gone from it now; only its hold on a shared
                // object remains to drop.
                for area in old {
                    for frame in objects.shared.detach(&area) {
                        release(objects, frame);
                    }
                }
                Ok(destination)
            }
        }
    }

    /// Moves the present `page` from `from` to `to` by remapping its frame cap.
    fn move_page(&mut self, objects: &mut Objects, from: u64, to: u64, page: Page) {
        self.pages.remove(&from);
        let mapping: Cap<Granule> = Cap::from_bits(page.mapping);
        if page.permissions != Permissions::NONE {
            if let Err(error) = mapping.frame_unmap() {
                log::warn!("frame at {from:#x} not unmapped for mremap: {error:?}");
            }
            let (rights, attributes) = hardware_permissions(page.permissions);
            if objects
                .map(
                    mapping,
                    Cap::<VSpace>::from_bits(self.vspace),
                    to,
                    rights,
                    attributes,
                    &mut self.tables,
                )
                .is_err()
            {
                // Memory for a page table ran out: the page is lost (reads back as
                // zeros for anonymous memory), as if it had been reclaimed.
                objects.delete_cap(page.mapping);
                release(objects, page.frame);
                return;
            }
        }
        self.pages.insert(to, page);
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
        self.forget_areas(objects, removed);
        Ok(())
    }

    /// `file` was truncated: drops the pages of its areas that show bytes from offset
    /// `from` (page-aligned, the new end rounded up) on, so the next access there faults
    /// past the end of the file (SIGBUS) as on Linux. A shared area's pages all go; a
    /// private area's go only if not written ([`PageContents::FileCopy`]): a written
    /// page is the process's own copy, which Linux keeps too.
    pub fn drop_file_pages(&mut self, objects: &mut Objects, file: FileId, from: u64) {
        let mut doomed = Vec::new();
        for area in self.areas.iter() {
            let VmaKind::File {
                file: shown,
                offset,
                ..
            } = area.kind
            else {
                continue;
            };
            if shown != file {
                continue;
            }
            let first = area
                .start
                .saturating_add(from.saturating_sub(offset))
                .min(area.end);
            for (address, page) in self.pages.range(first..area.end) {
                if area.sharing == Sharing::Shared || page.contents == PageContents::FileCopy {
                    doomed.push(*address);
                }
            }
        }
        for address in doomed {
            self.unmap_page(objects, address);
        }
    }

    /// A copy for `fork`, copy-on-write: shared pages are shared; private pages are
    /// shared too but mapped read-only in both spaces, and the first write in either
    /// copies the frame ([`AddressSpace::resolve`]).
    ///
    /// # Errors
    /// [`AllocError`]; the partial copy is destroyed (pages this space already made
    /// read-only stay so and are made writable again by their next write fault).
    pub fn duplicate(&mut self, objects: &mut Objects) -> Result<AddressSpace, AllocError> {
        // Every present page is mapped once more: refuse a copy that would eat the
        // server's own reserves (fork gives ENOMEM) instead of failing half-way.
        if !objects.mappings_fit(self.pages.len() as u64) {
            return Err(AllocError::OutOfMemory);
        }
        let mut copy = AddressSpace::new(objects)?;
        copy.areas = self.areas.clone();
        if !objects.shared.is_empty() {
            for area in copy.areas.iter() {
                objects.shared.attach(area);
            }
        }
        let mut next = 0;
        while let Some((address, page)) = self
            .pages
            .range(next..)
            .next()
            .map(|(address, page)| (*address, *page))
        {
            next = address.saturating_add(PAGE_SIZE);
            let permissions = if self.is_private(address) && page.permissions.write {
                let read_only = Permissions {
                    write: false,
                    ..page.permissions
                };
                if let Err(error) =
                    self.protect_page(objects, address, page, read_only, page.contents)
                {
                    copy.destroy(objects);
                    return Err(error);
                }
                read_only
            } else {
                page.permissions
            };
            objects.frames.retain(page.frame);
            if let Err(error) =
                copy.map_frame_as(objects, address, page.frame, permissions, page.contents)
            {
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
        contents: PageContents,
    ) -> Result<(), AllocError> {
        objects.frames.retain(page.frame);
        self.unmap_page(objects, address);
        self.map_frame_as(objects, address, page.frame, permissions, contents)
    }

    /// A write to a present private page that is mapped read-only because its frame is
    /// shared copy-on-write (or it is a file page not written yet): the last sharer takes
    /// the frame back writable, any other gets a copy.
    fn break_copy_on_write(
        &mut self,
        objects: &mut Objects,
        address: u64,
        page: Page,
        permissions: Permissions,
    ) -> Result<FrameId, AllocError> {
        if objects.frames.references(page.frame) <= 1 {
            self.protect_page(objects, address, page, permissions, PageContents::Own)?;
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
        while let Some(address) = self.pages.keys().next().copied() {
            self.unmap_page(objects, address);
        }
        objects.free_page_tables(core::mem::take(&mut self.tables));
        if let Ok(empty) = VmaSet::new(LOWEST_ADDRESS, ADDRESS_LIMIT) {
            let old = core::mem::replace(&mut self.areas, empty);
            if !objects.shared.is_empty() {
                for area in old.iter() {
                    for frame in objects.shared.detach(area) {
                        release(objects, frame);
                    }
                }
            }
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
