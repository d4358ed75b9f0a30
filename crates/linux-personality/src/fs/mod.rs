//! The process server's file system model: an in-memory tree built from the boot cpio
//! archive, Linux path resolution, the file system calls' semantics and errors,
//! per-process descriptor tables, pipes and `/proc/self/maps` formatting.

pub mod fd_table;
pub mod flags;
pub mod inode;
pub mod mapped;
pub mod ops;
pub mod path;
pub mod pipe;
pub mod proc_maps;
pub mod stat;
pub mod tree;

#[cfg(test)]
mod property_tests;

pub use fd_table::{CloseOnExec, Descriptor, FdTable, OpenFileId, OpenFileTable};
pub use inode::{
    CharacterDevice, Content, DeviceNumber, Directory, DirectoryEntry, Inode, InodeId,
    RandomSource, Timespec,
};
pub use ops::{AccessMode, OpenFile, OpenRequest, SpecialFile, TimeUpdate, Transfer};
pub use path::{AccessMask, EmptyPath, Follow, Identity, LastComponent, Location, Parent};
pub use pipe::{Pipe, PipeRead, PipeWrite};
pub use proc_maps::{format_maps, format_maps_line, MapsRecord};
pub use stat::Stat;
pub use tree::{ArchiveError, EntryProblem, Fs, MountKind};
